package format

import (
	"io"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules/gate"
)

// DefaultMaxFindings is how many findings a Markdown report lists: a pull
// request comment should fit on a screen; the rest are counted.
const DefaultMaxFindings = 20

// writeMarkdown writes a summary sized for a pull-request comment: the
// verdict, a table of counts and the top findings (failing first, then
// by severity), with a line saying how many more there are.
func writeMarkdown(w io.Writer, results []*gate.Result, opts Options) error {
	ew := textfmt.NewWriter(w)
	limit := opts.MaxFindings
	if limit <= 0 {
		limit = DefaultMaxFindings
	}
	for i, r := range results {
		if i > 0 {
			ew.Printf("\n")
		}
		s := r.Summary
		icon := "✅"
		if s.Result == gate.Fail {
			icon = "❌"
		}
		ew.Printf("### %s layerlint: %s — %s\n\n", icon, s.Result, escape.MarkdownCode(imageName(r)))
		ew.Printf("| | |\n| --- | --- |\n")
		ew.Printf("| verdict | **%s** (fail on %s", s.Result, s.FailOn)
		if s.DiveOnly {
			ew.Printf("; only dive rules decide")
		}
		ew.Printf(") |\n")
		ew.Printf("| failing | %d |\n", s.Failing)
		ew.Printf("| errors / warnings / info | %d / %d / %d |\n", s.Errors, s.Warnings, s.Info)
		ew.Printf("| suppressed / baselined / ignored | %d / %d / %d |\n", s.Suppressed, s.Baselined, s.Ignored)
		if rep := r.Report; rep != nil {
			ew.Printf("| download size | %s |\n", analyze.Bytes(rep.Summary.CompressedSize))
			ew.Printf("| wasted | %s (efficiency %s) |\n", analyze.Bytes(rep.Summary.WastedBytes), textfmt.Percent(rep.Summary.Efficiency))
		}
		for _, rr := range r.Rules {
			if rr.Measured != "" && rr.Status == gate.Enabled {
				state := "pass"
				if rr.Failing > 0 {
					state = "**fail**"
				}
				ew.Printf("| %s | %s: %s |\n", escape.Markdown(rr.ID), state, escape.Markdown(rr.Measured))
			}
		}
		fs := topFindings(r.Findings)
		if len(fs) == 0 {
			ew.Printf("\nNo findings.\n")
			continue
		}
		ew.Printf("\n| | rule | where | finding |\n| --- | --- | --- | --- |\n")
		for j, f := range fs {
			if j == limit {
				break
			}
			where := imagePath(*f)
			if f.Location != nil {
				where += " (" + f.Location.Dockerfile + ":" + itoa(f.Location.Line) + ")"
			}
			ew.Printf("| %s | %s | %s | %s |\n", mark(f), escape.Markdown(f.Rule+" "+f.Name), escape.MarkdownCode(where), escape.Markdown(oneLine(f.Message, 200)))
		}
		if rest := len(fs) - limit; rest > 0 {
			ew.Printf("\n… and %s (see the full report: `layerlint lint --format json`).\n", textfmt.Plural(rest, "more finding", "more findings"))
		}
	}
	return ew.Err
}

func mark(f *gate.Finding) string {
	switch {
	case f.Failing:
		return "❌ " + f.Severity.String()
	case f.Suppressed != nil:
		return "🔕 suppressed"
	case f.Baselined:
		return "📋 baselined"
	}
	return f.Severity.String()
}

// topFindings orders findings for a short list: failing ones by severity,
// then the others by severity, then accepted ones; within a rank the
// gate's order (layer, path, rule) holds.
func topFindings(all []gate.Finding) []*gate.Finding {
	rank := func(f *gate.Finding) int {
		switch {
		case f.Failing:
			return int(f.Severity)
		case f.Accepted():
			return 10
		}
		return 4 + int(f.Severity)
	}
	out := make([]*gate.Finding, 0, len(all))
	for r := 0; r <= 10; r++ {
		for i := range all {
			if rank(&all[i]) == r {
				out = append(out, &all[i])
			}
		}
	}
	return out
}
