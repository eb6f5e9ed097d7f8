package gate

import (
	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
)

// Finding is a rule's finding as the gate judged it. Its JSON form is part
// of the lint report (docs/json.md).
type Finding struct {
	rules.Finding
	// Name is the rule's name.
	Name string `json:"name"`
	// Location is the Dockerfile line that made the layer, when known.
	Location *Location `json:"location,omitempty"`
	// Suppressed is set when a suppression of the configuration accepts
	// the finding.
	Suppressed *Suppressed `json:"suppressed,omitempty"`
	// Baselined is true when the baseline recorded the finding.
	Baselined bool `json:"baselined"`
	// Failing is true when the finding fails the gate: not accepted, at or
	// above the failure level.
	Failing bool `json:"failing"`
	// Fingerprint identifies the finding across rebuilds: rule, path and
	// kind, not layer index or digest.
	Fingerprint string `json:"fingerprint"`
	// Inherited is true when the finding is in a layer of the base image:
	// the author of the Dockerfile cannot act on it there, so it takes
	// the configuration's inherited severity (info by default).
	Inherited bool `json:"inherited"`
}

// Accepted reports whether the finding is suppressed or baselined.
func (f *Finding) Accepted() bool { return f.Suppressed != nil || f.Baselined }

// Location is a line of a Dockerfile.
type Location struct {
	Dockerfile string `json:"dockerfile"`
	Line       int    `json:"line"`
}

// Suppressed says which suppression accepted a finding.
type Suppressed struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	// Source is the configuration file and line, FILE:LINE.
	Source string `json:"source"`
}

// RuleResult is one rule of the catalog as a lint used it.
type RuleResult struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Severity rules.Severity `json:"severity"`
	// DefaultSeverity is the rule's own, before the configuration.
	DefaultSeverity rules.Severity `json:"defaultSeverity"`
	Summary         string         `json:"summary"`
	Doc             string         `json:"-"`
	Status          RuleStatus     `json:"status"`
	// Findings counts the rule's findings after ignore patterns; Failing
	// those that fail the gate.
	Findings int `json:"findings"`
	Failing  int `json:"failing"`
	// Measured says what a threshold or dive rule compared, pass or fail.
	Measured string `json:"measured,omitempty"`
}

// Counts sums a lint's findings. Errors, Warnings and Info count the
// findings not accepted.
type Counts struct {
	Findings   int `json:"findings"`
	Failing    int `json:"failing"`
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Info       int `json:"info"`
	Suppressed int `json:"suppressed"`
	Baselined  int `json:"baselined"`
	Ignored    int `json:"ignored"`
}

// Summary is the verdict and what led to it; its JSON form is the lint
// report's verdict object.
type Summary struct {
	Result   Verdict `json:"result"`
	FailOn   FailOn  `json:"failOn"`
	DiveOnly bool    `json:"diveOnly"`
	Counts
	Config     string `json:"config,omitempty"`
	DiveCI     string `json:"diveCI,omitempty"`
	Dockerfile string `json:"dockerfile,omitempty"`
	Baseline   string `json:"baseline,omitempty"`
}

// Result is the lint of one image.
type Result struct {
	Report   *analyze.Report
	Findings []Finding
	// Groups are the findings grouped by problem and ranked by what fixing
	// them saves (see Group).
	Groups  []Group
	Rules   []RuleResult
	Summary Summary
}

func (g *Gate) count(res *Result) {
	s := &res.Summary
	s.FailOn, s.DiveOnly = g.failOn, g.diveOnly
	if g.opts.Config != nil {
		s.Config = g.opts.Config.File
	}
	if g.opts.DiveCI != nil {
		s.DiveCI = g.opts.DiveCI.File
	}
	if g.opts.Dockerfile != nil {
		s.Dockerfile = g.opts.Dockerfile.Name
	}
	if g.opts.Baseline != nil {
		s.Baseline = g.opts.Baseline.Name
		if s.Baseline == "" {
			s.Baseline = "(baseline)"
		}
	}
	for _, f := range res.Findings {
		s.Findings++
		rr := &res.Rules[g.byKey[f.Rule]]
		rr.Findings++
		switch {
		case f.Suppressed != nil:
			s.Suppressed++
		case f.Baselined:
			s.Baselined++
		default:
			switch f.Severity {
			case rules.Error:
				s.Errors++
			case rules.Warning:
				s.Warnings++
			case rules.Info:
				s.Info++
			}
		}
		if f.Failing {
			s.Failing++
			rr.Failing++
		}
	}
	s.Result = Pass
	if s.Failing > 0 {
		s.Result = Fail
	}
}
