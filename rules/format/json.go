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
	Rules    []gate.RuleResult `json:"rules"`
	Verdict  gate.Summary      `json:"verdict"`
}

func toJSON(r *gate.Result) jsonReport {
	j := jsonReport{Report: r.Report, Findings: r.Findings, Rules: r.Rules, Verdict: r.Summary}
	if j.Findings == nil {
		j.Findings = []gate.Finding{}
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
