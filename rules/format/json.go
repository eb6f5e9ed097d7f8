package format

import (
	"io"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/rules/gate"
)

// jsonReport is the analyze report with the lint's keys added; see
// docs/json.md.
type jsonReport struct {
	*analyze.Report
	Findings []gate.Finding    `json:"findings"`
	Groups   []gate.Group      `json:"groups"`
	Rules    []gate.RuleResult `json:"rules"`
	Verdict  gate.Summary      `json:"verdict"`
}

func toJSON(r *gate.Result) jsonReport {
	j := jsonReport{Report: r.Report, Rules: r.Rules, Verdict: r.Summary, Groups: r.Groups}
	// Paths as the container sees them, as every other format spells
	// them; the gate keeps the model's relative form.
	j.Findings = make([]gate.Finding, len(r.Findings))
	for i, f := range r.Findings {
		f.Path = displayPath(f.Path)
		j.Findings[i] = f
	}
	if j.Groups == nil {
		j.Groups = []gate.Group{}
	}
	if j.Rules == nil {
		j.Rules = []gate.RuleResult{}
	}
	return j
}

// writeJSON writes one report object, or an array for several images, as
// analyze --format json does.
func writeJSON(w io.Writer, results []*gate.Result) error {
	if len(results) == 1 {
		return escape.WriteJSON(w, toJSON(results[0]))
	}
	all := make([]jsonReport, 0, len(results))
	for _, r := range results {
		all = append(all, toJSON(r))
	}
	return escape.WriteJSON(w, all)
}
