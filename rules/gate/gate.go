// Package gate turns rule findings into a CI verdict. It applies a
// configuration (package rules/config) to what the rules found: severities
// changed or rules disabled, paths ignored, findings suppressed with a
// reason or accepted by a baseline, image-wide thresholds and dive's CI
// rules checked, each finding placed on its Dockerfile line, and the whole
// judged against a failure level.
//
// Accepted findings (suppressed or baselined) are marked, never dropped, so
// every output can still show them; only ignore patterns drop findings,
// and the result counts what they dropped.
package gate

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

// FailOn is the lowest severity that fails the gate.
type FailOn uint8

// Failure levels. The zero value is unset: the configuration's failOn, or
// FailOnError.
const (
	FailOnUnset FailOn = iota
	FailOnError
	FailOnWarning
	FailOnInfo
	FailOnNever
)

// ParseFailOn reads error, warning, info or never.
func ParseFailOn(s string) (FailOn, error) {
	switch s {
	case "error":
		return FailOnError, nil
	case "warning":
		return FailOnWarning, nil
	case "info":
		return FailOnInfo, nil
	case "never":
		return FailOnNever, nil
	}
	return FailOnUnset, fmt.Errorf("fail-on %q: want error, warning, info or never", s)
}

func (f FailOn) String() string {
	switch f {
	case FailOnUnset:
		return "unset"
	case FailOnError:
		return "error"
	case FailOnWarning:
		return "warning"
	case FailOnInfo:
		return "info"
	case FailOnNever:
		return "never"
	}
	return "failOn(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText makes the level read as a word in JSON.
func (f FailOn) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// reaches reports whether a finding of severity s fails at this level.
func (f FailOn) reaches(s rules.Severity) bool {
	switch f {
	case FailOnUnset, FailOnError:
		return s == rules.Error
	case FailOnWarning:
		return s == rules.Error || s == rules.Warning
	case FailOnInfo:
		return s == rules.Error || s == rules.Warning || s == rules.Info
	case FailOnNever:
		return false
	}
	return false
}

// Verdict is the gate's outcome.
type Verdict uint8

// Verdicts.
const (
	Pass Verdict = iota + 1
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// MarshalText makes the verdict read as a word in JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// RuleStatus says whether a rule took part in a lint.
type RuleStatus uint8

// Rule statuses.
const (
	// Enabled: the rule ran.
	Enabled RuleStatus = iota + 1
	// Disabled: the configuration turned it off.
	Disabled
	// NotConfigured: a threshold or dive rule with no threshold set.
	NotConfigured
)

func (s RuleStatus) String() string {
	switch s {
	case Enabled:
		return "enabled"
	case Disabled:
		return "disabled"
	case NotConfigured:
		return "not-configured"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes the status read as a word in JSON.
func (s RuleStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Options are what a gate applies. The zero value runs every rule at its
// own severity and fails on errors.
type Options struct {
	// Config is a parsed .layerlint.yaml; nil for none.
	Config *config.Config
	// DiveCI enables dive's three rules; nil for none.
	DiveCI *config.DiveCI
	// FailOn overrides the configuration's failOn (the --fail-on flag).
	FailOn FailOn
	// Baseline accepts the findings it records.
	Baseline *Baseline
	// Dockerfile, when set, places findings on its lines.
	Dockerfile *Dockerfile
	// Now decides which suppressions have expired; zero means time.Now.
	Now time.Time
	// Rules replaces the rules of package rules (nil: rules.All()), for
	// tests whose output must not change when a rule is added. The gate's
	// own rules are always there.
	Rules []rules.Rule
}

// Gate applies Options to analyses. Make it with New.
type Gate struct {
	opts     Options
	catalog  []rules.Rule
	byKey    map[string]int
	severity []rules.Severity // effective, per catalog index
	status   []RuleStatus
	ruleOpts rules.Options
	failOn   FailOn
	diveOnly bool
	supps    []suppression
	ignore   []config.Glob
	// inherited is config.Config.Inherited.
	inherited string
}

type suppression struct {
	config.Suppression
	ruleID  string
	expired bool
}

// New checks opts against the rule catalog (rule keys and suppressions
// must name existing rules, options belong to their rule) and returns the
// gate. Errors name the configuration file and line.
func New(opts Options) (*Gate, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	catalog := Catalog()
	if opts.Rules != nil {
		catalog = append(slices.Clip(opts.Rules), gateRules()...)
	}
	g := &Gate{opts: opts, catalog: catalog, byKey: map[string]int{}, ignore: cfg.Ignore, inherited: cfg.Inherited}
	for i, r := range g.catalog {
		g.byKey[r.ID] = i
		g.byKey[r.Name] = i
		g.severity = append(g.severity, r.Severity)
		g.status = append(g.status, Enabled)
	}
	g.markUnconfigured(cfg.Thresholds, opts.DiveCI)

	for _, key := range slices.Sorted(maps.Keys(cfg.Rules)) {
		set := cfg.Rules[key]
		i, ok := g.byKey[key]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: rules: unknown rule %q (see docs/rules/README.md): %w", cfg.File, set.Line, key, config.ErrInvalid)
		}
		switch set.Severity {
		case "":
		case "off":
			g.status[i] = Disabled
		default:
			g.severity[i] = parseSeverity(set.Severity)
		}
		for _, o := range set.Options.Settings() {
			opt, err := g.option(cfg, set, i, o.Name)
			if err != nil {
				return nil, err
			}
			v := rules.OptionValue{Int: o.Int, Bool: o.Bool, Ratio: o.Ratio}
			if err := opt.Apply(&g.ruleOpts, v); err != nil {
				return nil, fmt.Errorf("%s: line %d: %s: %s %v: %w: %w", cfg.File, set.Line, key, o.Name, o.Value, err, config.ErrInvalid)
			}
		}
	}
	for _, s := range cfg.Suppressions {
		i, ok := g.byKey[s.Rule]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: suppression: unknown rule %q (see docs/rules/README.md): %w", cfg.File, s.Line, s.Rule, config.ErrInvalid)
		}
		expired := s.Expires != nil && !opts.Now.Before(s.Expires.AddDate(0, 0, 1))
		g.supps = append(g.supps, suppression{Suppression: s, ruleID: g.catalog[i].ID, expired: expired})
	}

	g.failOn = opts.FailOn
	if g.failOn == FailOnUnset && cfg.FailOn != "" {
		g.failOn, _ = ParseFailOn(cfg.FailOn) // config.Parse checked it
	}
	if g.failOn == FailOnUnset {
		g.failOn = FailOnError
	}
	// A dive user who points layerlint at their .dive-ci and nothing else
	// expects dive's verdict: layerlint's own rules then report without
	// failing. A .layerlint.yaml or an explicit --fail-on says otherwise.
	g.diveOnly = opts.DiveCI != nil && cfg.File == "" && opts.FailOn == FailOnUnset
	return g, nil
}

// option returns the option name of rule i, or an error naming the rules
// that declare it.
func (g *Gate) option(cfg *config.Config, set config.RuleSetting, i int, name string) (rules.RuleOption, error) {
	r := g.catalog[i]
	if o, ok := r.Option(name); ok {
		return o, nil
	}
	var owners []string
	for _, c := range Catalog() {
		if _, ok := c.Option(name); ok {
			owners = append(owners, c.ID)
		}
	}
	return rules.RuleOption{}, fmt.Errorf("%s: line %d: option %s belongs to rule %s, not %s: %w", cfg.File, set.Line, name, strings.Join(owners, " and "), r.ID, config.ErrInvalid)
}

func parseSeverity(s string) rules.Severity {
	switch s {
	case "warning":
		return rules.Warning
	case "info":
		return rules.Info
	}
	return rules.Error
}

func (g *Gate) markUnconfigured(t config.Thresholds, d *config.DiveCI) {
	unset := map[string]bool{
		IDMaxWastedBytes:     t.MaxWastedBytes == nil,
		IDMinEfficiency:      t.MinEfficiency == nil,
		IDMaxUserWastedRatio: t.MaxUserWastedRatio == nil,
		IDMaxImageSize:       t.MaxImageSize == nil,
		IDMaxLayers:          t.MaxLayers == nil,

		IDDiveLowestEfficiency:         d == nil || !d.LowestEfficiency.Enabled,
		IDDiveHighestWastedBytes:       d == nil || !d.HighestWastedBytes.Enabled,
		IDDiveHighestUserWastedPercent: d == nil || !d.HighestUserWastedPercent.Enabled,
	}
	for id, u := range unset {
		if u {
			g.status[g.byKey[id]] = NotConfigured
		}
	}
}

// FailOn is the failure level in force.
func (g *Gate) FailOn() FailOn { return g.failOn }

// DiveOnly reports whether only the dive rules decide the verdict (a
// .dive-ci without a .layerlint.yaml and without --fail-on).
func (g *Gate) DiveOnly() bool { return g.diveOnly }

// RuleOptions are the options the rules run with.
func (g *Gate) RuleOptions() rules.Options { return g.ruleOpts }

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

// Evaluate runs the enabled rules on a and judges the findings. It uses
// only what the analysis holds: see EvaluateFacts for content scanning and
// compression estimates.
func (g *Gate) Evaluate(a *analyze.Analysis) *Result {
	return g.EvaluateFacts(rules.NewFacts(a, g.ruleOpts))
}

// EvaluateFacts runs the enabled rules on facts gathered by rules.Gather
// (with the options of RuleOptions) and judges the findings.
func (g *Gate) EvaluateFacts(facts *rules.Facts) *Result {
	a := facts.Analysis
	res := &Result{Report: a.Report}
	for i, r := range g.catalog {
		res.Rules = append(res.Rules, RuleResult{
			ID: r.ID, Name: r.Name, Severity: g.severity[i], DefaultSeverity: r.Severity,
			Summary: r.Summary, Doc: r.Doc, Status: g.status[i],
		})
	}
	var run []rules.Rule
	for i, r := range g.catalog {
		if r.Check != nil && g.status[i] == Enabled {
			run = append(run, r)
		}
	}
	raw := rules.RunRules(facts, run)
	raw = append(raw, g.thresholds(a.Report, res)...)
	raw = append(raw, g.dive(a, res)...)
	raw = append(raw, g.expired(res)...)

	var lines []int
	if g.opts.Dockerfile != nil && a.Report != nil {
		lines = g.opts.Dockerfile.MapLayers(layerCreatedBy(a), a.Report.Image.Base.Layers)
	}
	for _, f := range raw {
		i, ok := g.byKey[f.Rule]
		if !ok || g.status[i] == Disabled {
			continue
		}
		if f.Path != "" && slices.ContainsFunc(g.ignore, func(gl config.Glob) bool { return gl.Match(f.Path) }) {
			res.Summary.Ignored++
			continue
		}
		inherited := isBaseLayer(a.Report, f.Layer) && !isGateRule(f.Rule)
		f.Severity = g.effectiveSeverity(i, f.Severity, inherited)
		if f.Severity == 0 {
			continue // inherited: off
		}
		if f.CreatedBy == "" && a.Report != nil && f.Layer >= 0 && f.Layer < len(a.Report.Layers) {
			f.CreatedBy = a.Report.Layers[f.Layer].CreatedBy
		}
		gf := Finding{Finding: f, Name: g.catalog[i].Name, Fingerprint: Fingerprint(f), Inherited: inherited}
		if f.Layer >= 0 && f.Layer < len(lines) && lines[f.Layer] > 0 {
			gf.Location = &Location{Dockerfile: g.opts.Dockerfile.Name, Line: lines[f.Layer]}
		}
		gf.Suppressed = g.suppressedBy(&f)
		gf.Baselined = gf.Suppressed == nil && !isGateRule(f.Rule) && g.opts.Baseline.Has(f)
		gf.Failing = !gf.Accepted() && g.failOn.reaches(f.Severity) && (!g.diveOnly || IsDive(f.Rule))
		res.Findings = append(res.Findings, gf)
	}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule),
			strings.Compare(a.Message, b.Message))
	})
	g.count(res)
	res.Groups = g.group(res.Findings)
	return res
}

// effectiveSeverity is the severity a finding of catalog rule i takes: the
// configured one; never more severe than the rule made this one finding
// (a rule lowers a single finding it knows to be benign, such as a
// distribution's own setuid binaries); and, in a base layer, the
// configuration's inherited severity. Zero drops the finding.
func (g *Gate) effectiveSeverity(i int, emitted rules.Severity, inherited bool) rules.Severity {
	sev := g.severity[i]
	if emitted > g.catalog[i].Severity { // a higher value is less severe
		sev = max(sev, emitted)
	}
	if !inherited {
		return sev
	}
	switch g.inherited {
	case "", "info":
		return rules.Info
	case "warning":
		return max(sev, rules.Warning)
	case "off":
		return 0
	}
	return sev // "rule"
}

// isBaseLayer reports whether layer l belongs to the base image.
func isBaseLayer(r *analyze.Report, l int) bool {
	return r != nil && l >= 0 && l < len(r.Layers) && r.Layers[l].Base
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

func (g *Gate) suppressedBy(f *rules.Finding) *Suppressed {
	for _, s := range g.supps {
		if s.expired || s.ruleID != f.Rule {
			continue
		}
		if s.Path != nil && !s.Path.Match(f.Path) {
			continue
		}
		if s.Layer != nil && *s.Layer != f.Layer {
			continue
		}
		if s.CreatedBy != nil && !s.CreatedBy.MatchString(f.CreatedBy) {
			continue
		}
		out := &Suppressed{Reason: s.Reason, Source: g.opts.Config.File + ":" + strconv.Itoa(s.Line)}
		if s.Expires != nil {
			out.Expires = s.Expires.String()
		}
		return out
	}
	return nil
}

// expired reports each suppression past its date.
func (g *Gate) expired(res *Result) []rules.Finding {
	var out []rules.Finding
	for _, s := range g.supps {
		if !s.expired {
			continue
		}
		what := s.ruleID
		if s.Path != nil {
			what += " on " + s.Path.String()
		}
		out = append(out, rules.Finding{
			Rule:     IDExpiredSuppression,
			Severity: rules.Warning,
			Message: fmt.Sprintf("%s line %d: the suppression of %s expired on %s and no longer applies (its reason: %s)",
				g.opts.Config.File, s.Line, what, s.Expires, s.Reason),
			Layer: rules.ImageWide,
			Fix:   "fix the findings it covered, or renew the suppression with a new reason and expires date",
		})
	}
	if len(g.supps) > 0 {
		res.Rules[g.byKey[IDExpiredSuppression]].Measured = fmt.Sprintf("%d suppressions checked on %s", len(g.supps), g.opts.Now.UTC().Format(time.DateOnly))
	}
	return out
}

// thresholds checks the configured image-wide limits.
func (g *Gate) thresholds(r *analyze.Report, res *Result) []rules.Finding {
	if r == nil {
		return nil
	}
	t := config.Thresholds{}
	if g.opts.Config != nil {
		t = g.opts.Config.Thresholds
	}
	s := r.Summary
	var out []rules.Finding
	check := func(id string, failed bool, measured, msg, fix string, bytes int64) {
		res.Rules[g.byKey[id]].Measured = measured
		if failed {
			out = append(out, rules.Finding{Rule: id, Severity: rules.Error, Message: msg, Layer: rules.ImageWide, Bytes: bytes, Fix: fix})
		}
	}
	if w := t.MaxWastedBytes; w != nil {
		var limits []string
		failed := true
		if w.Absolute != nil {
			limits = append(limits, analyze.Bytes(int64(*w.Absolute)))
			failed = failed && s.UserWastedBytes > int64(*w.Absolute)
		}
		if w.Relative != nil {
			limits = append(limits, textfmt.Percent(float64(*w.Relative))+" of the bytes added")
			failed = failed && s.UserWastedRatio != nil && *s.UserWastedRatio > float64(*w.Relative)
		}
		measured := analyze.Bytes(s.UserWastedBytes) + " wasted above the base"
		if s.UserWastedRatio != nil {
			measured += " (" + textfmt.Percent(*s.UserWastedRatio) + " of " + analyze.Bytes(s.UserContentBytes) + " added)"
		}
		measured += "; limit " + strings.Join(limits, " and ")
		check(IDMaxWastedBytes, failed, measured, measured+": over the limit",
			"remove the waste that LL001-LL003 point at", s.UserWastedBytes)
	}
	if m := t.MinEfficiency; m != nil {
		measured := "efficiency " + textfmt.Percent(s.Efficiency) + "; lowest allowed " + textfmt.Percent(float64(*m))
		check(IDMinEfficiency, s.Efficiency < float64(*m), measured, measured+": below the limit",
			"remove the waste that LL001-LL003 point at", s.WastedBytes)
	}
	if m := t.MaxUserWastedRatio; m != nil {
		measured := "nothing added above the base"
		failed := false
		if s.UserWastedRatio != nil {
			measured = textfmt.Percent(*s.UserWastedRatio) + " of the bytes added above the base are wasted; limit " + textfmt.Percent(float64(*m))
			failed = *s.UserWastedRatio > float64(*m)
		}
		check(IDMaxUserWastedRatio, failed, measured, measured+": over the limit",
			"remove the waste that LL001-LL003 point at", s.UserWastedBytes)
	}
	if m := t.MaxImageSize; m != nil {
		measured := "download size " + analyze.Bytes(s.CompressedSize) + "; limit " + analyze.Bytes(int64(*m))
		check(IDMaxImageSize, s.CompressedSize > int64(*m), measured, measured+": over the limit",
			"start with the largest layers of layerlint analyze; use a smaller base or a multi-stage build", s.CompressedSize)
	}
	if m := t.MaxLayers; m != nil {
		measured := strconv.Itoa(s.Layers) + " layers; limit " + strconv.Itoa(*m)
		check(IDMaxLayers, s.Layers > *m, measured, measured+": over the limit",
			"merge RUN steps with && and copy build results from another stage", 0)
	}
	return out
}

// dive applies the .dive-ci rules to dive's metrics with dive's
// comparisons. The raw floats are used, not the report's nullable ones,
// because dive compares NaN (always passes) and +Inf (fails a maximum).
func (g *Gate) dive(a *analyze.Analysis, res *Result) []rules.Finding {
	d := g.opts.DiveCI
	if d == nil {
		return nil
	}
	m := a.Dive
	var out []rules.Finding
	check := func(id string, lim config.DiveLimit, failed bool, metric, cmp string, value float64, fix string) {
		if !lim.Enabled {
			return
		}
		where := "dive's default"
		if lim.Line > 0 {
			where = fmt.Sprintf("%s line %d", d.File, lim.Line)
		}
		measured := fmt.Sprintf("%s %s; threshold %s (%s)", metric, formatFloat(value), formatFloat(lim.Value), where)
		res.Rules[g.byKey[id]].Measured = measured
		if failed {
			out = append(out, rules.Finding{Rule: id, Severity: rules.Error, Layer: rules.ImageWide,
				Message: fmt.Sprintf("%s %s is %s the threshold %s (%s)", metric, formatFloat(value), cmp, formatFloat(lim.Value), where),
				Fix:     fix})
		}
	}
	check(IDDiveLowestEfficiency, d.LowestEfficiency, d.LowestEfficiency.Value > m.Efficiency,
		"efficiency", "below", m.Efficiency, "remove the waste that layerlint's findings point at")
	check(IDDiveHighestWastedBytes, d.HighestWastedBytes, float64(m.WastedBytes) > d.HighestWastedBytes.Value,
		"wastedBytes", "above", float64(m.WastedBytes), "remove the waste that layerlint's findings point at")
	check(IDDiveHighestUserWastedPercent, d.HighestUserWastedPercent, m.UserWastedPercent > d.HighestUserWastedPercent.Value,
		"userWastedPercent", "above", m.UserWastedPercent, "remove the waste that layerlint's findings point at")
	return out
}

func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// layerCreatedBy returns the created_by of each layer of the report, ""
// where the history is short.
func layerCreatedBy(a *analyze.Analysis) []string {
	byLayer, _ := analyze.HistoryByLayer(a.History(), len(a.Report.Layers))
	out := make([]string, len(byLayer))
	for i, e := range byLayer {
		out[i] = e.CreatedBy
	}
	return out
}
