package format

import (
	"io"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules/gate"
)

// DefaultMaxFindings is how many groups of findings (gate.Group) a
// Markdown report lists: a pull request comment should fit on a screen;
// the rest are counted.
const DefaultMaxFindings = 20

// writeMarkdown writes a summary sized for a pull-request comment: the
// verdict, a table of counts and the top groups of findings (failing
// first, then by bytes saved), with a line saying how many more there are.
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
		gs := topGroups(groupsOf(r))
		if len(gs) == 0 {
			ew.Printf("\nNo findings.\n")
			continue
		}
		writeMarkdownGroups(ew, gs, limit)
		if rest := len(gs) - limit; rest > 0 {
			ew.Printf("\n… and %s (see the full report: `layerlint lint --format json`).\n", textfmt.Plural(rest, "more group", "more groups"))
		}
	}
	return ew.Err
}

// writeMarkdownGroups writes the table of the first limit groups.
func writeMarkdownGroups(ew *textfmt.Writer, gs []*gate.Group, limit int) {
	ew.Printf("\n| | rule | where | files | bytes | finding |\n| --- | --- | --- | --: | --: | --- |\n")
	for j, g := range gs {
		if j == limit {
			break
		}
		where := g.Path
		if where == "" {
			where = layerLabel(g.Layer)
		}
		if g.Location != nil {
			where += " (" + g.Location.Dockerfile + ":" + itoa(g.Location.Line) + ")"
		}
		ew.Printf("| %s | %s | %s | %d | %s | %s |\n", groupMarkMD(g), escape.Markdown(g.Rule+" "+g.Name), escape.MarkdownCode(where),
			g.Findings, bytesLabel(g.Bytes), escape.Markdown(oneLine(g.Message, 200)))
	}
}

func groupMarkMD(g *gate.Group) string {
	switch {
	case g.Failing > 0:
		return "❌ " + g.Severity.String()
	case g.Accepted:
		return "🔕 accepted"
	case g.Inherited:
		return g.Severity.String() + " (base image)"
	}
	return g.Severity.String()
}

// topGroups orders groups for a short list: failing ones by severity,
// then the others the author can act on, then the base image's, then
// accepted ones; within a rank the gate's order (bytes saved first) holds.
func topGroups(all []gate.Group) []*gate.Group {
	rank := func(g *gate.Group) int {
		switch {
		case g.Failing > 0:
			return int(g.Severity)
		case g.Accepted:
			return 10
		case g.Inherited:
			return 8
		}
		return 4 + int(g.Severity)
	}
	out := make([]*gate.Group, 0, len(all))
	for r := 0; r <= 10; r++ {
		for i := range all {
			if rank(&all[i]) == r {
				out = append(out, &all[i])
			}
		}
	}
	return out
}
