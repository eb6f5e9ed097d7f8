package format

import (
	"cmp"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

func paintSeverity(p textfmt.Painter, s rules.Severity, text string) string {
	switch s {
	case rules.Error:
		return p.Paint("1;31", text)
	case rules.Warning:
		return p.Paint("33", text)
	case rules.Info:
		return p.Paint("36", text)
	}
	return text
}

// writeText writes the grouped report unless opts.All asks for every
// finding.
func writeText(w io.Writer, results []*gate.Result, opts Options) error {
	if opts.All {
		return writeTextAll(w, results, opts)
	}
	ew := textfmt.NewWriter(w)
	p := textfmt.Painter(opts.Color)
	top := opts.Top
	if top <= 0 {
		top = DefaultTop
	}
	for i, r := range results {
		if i > 0 {
			ew.Printf("\n")
		}
		writeTextHead(ew, p, r)
		writeRuleSummary(ew, p, r)
		own, inherited := splitGroups(groupsOf(r))
		writeTopGroups(ew, p, own, top)
		writeInherited(ew, p, inherited, inheritedTop)
		writeChecks(ew, p, r)
		writeTextTail(ew, p, r)
		if hidden := len(groupsOf(r)) - min(len(own), top) - min(len(inherited), inheritedTop); hidden > 0 || len(r.Findings) > len(groupsOf(r)) {
			ew.Printf("(--all lists every finding one by one; --format json or sarif has them all)\n")
		}
	}
	return ew.Err
}

// DefaultTop is how many groups the text report details: with the summary
// by rule, the inherited findings and the verdict, the report fits a
// 50-line screen.
const DefaultTop = 6

// inheritedTop is how many inherited groups the text report names.
const inheritedTop = 3

func writeTextHead(ew *textfmt.Writer, p textfmt.Painter, r *gate.Result) {
	ew.Printf("%s %s\n", p.Paint("1", "Lint"), escape.Text(imageName(r)))
	s := r.Summary
	var src []string
	if s.Config != "" {
		src = append(src, "config "+s.Config)
	}
	if s.DiveCI != "" {
		src = append(src, "dive-ci "+s.DiveCI)
	}
	if s.Dockerfile != "" {
		src = append(src, "Dockerfile "+s.Dockerfile)
	}
	if len(src) > 0 {
		ew.Printf("  %s\n", escape.Text(strings.Join(src, ", ")))
	}
}

func writeTextTail(ew *textfmt.Writer, p textfmt.Painter, r *gate.Result) {
	s := r.Summary
	ew.Printf("\n%s  %s\n", p.Paint("1", "Totals"), totals(s))
	verdict := verdictLine(s)
	if s.Result == gate.Fail {
		verdict = p.Paint("1;31", verdict)
	}
	ew.Printf("%s %s\n", p.Paint("1", "Verdict"), verdict)
}

func splitGroups(gs []gate.Group) (own, inherited []*gate.Group) {
	for i := range gs {
		if gs[i].Inherited {
			inherited = append(inherited, &gs[i])
		} else {
			own = append(own, &gs[i])
		}
	}
	return own, inherited
}

// writeRuleSummary is one line per rule that found something: findings,
// groups, bytes, and how many are inherited, most bytes first.
func writeRuleSummary(ew *textfmt.Writer, p textfmt.Painter, r *gate.Result) {
	type row struct {
		id, name                string
		findings, groups, inher int
		saves                   int64
	}
	var rows []*row
	byID := map[string]*row{}
	for _, g := range groupsOf(r) {
		rw := byID[g.Rule]
		if rw == nil {
			rw = &row{id: g.Rule, name: g.Name}
			byID[g.Rule] = rw
			rows = append(rows, rw)
		}
		rw.findings += g.Findings
		rw.groups++
		rw.saves += g.Saves
		if g.Inherited {
			rw.inher += g.Findings
		}
	}
	if len(rows) == 0 {
		ew.Printf("\nNo findings.\n")
		return
	}
	slices.SortStableFunc(rows, func(a, b *row) int {
		return cmp.Or(cmp.Compare(b.saves, a.saves), cmp.Compare(b.findings, a.findings), strings.Compare(a.id, b.id))
	})
	ew.Printf("\n%s\n", p.Paint("1", "Summary by rule"))
	tw := newTable("RULE", "NAME", "FINDINGS", "GROUPS", "SAVES", "INHERITED")
	for _, rw := range rows {
		tw.add(escape.Text(rw.id), escape.Text(rw.name), itoa(rw.findings), itoa(rw.groups), bytesLabel(rw.saves), itoa(rw.inher))
	}
	tw.write(ew, "  ")
}

// writeTopGroups details the first groups the author can act on.
func writeTopGroups(ew *textfmt.Writer, p textfmt.Painter, gs []*gate.Group, top int) {
	if len(gs) == 0 {
		return
	}
	n := min(len(gs), top)
	ew.Printf("\n%s\n", p.Paint("1", "Top findings, largest saving first ("+itoa(n)+" of "+itoa(len(gs))+")"))
	tw := newTable("SEVERITY", "RULE", "LAYER", "BYTES", "FINDINGS", "PATH", "")
	for _, g := range gs[:n] {
		tw.add(g.Severity.String(), escape.Text(g.Rule), layerLabel(g.Layer), bytesLabel(g.Bytes), itoa(g.Findings), escape.Text(g.Path), groupMark(g))
	}
	lines := tw.lines()
	ew.Printf("  %s\n", lines[0])
	for i, g := range gs[:n] {
		line := lines[i+1]
		if g.Failing > 0 {
			line = paintSeverity(p, g.Severity, line)
		}
		ew.Printf("  %s\n", line)
		ew.Printf("      %s\n", escape.Text(oneLine(g.Message, 160)))
		if g.Findings > 1 {
			ew.Printf("      largest: %s\n", escape.Text(oneLine(strings.Join(g.Largest, ", "), 160)))
		}
		if g.Fix != "" {
			fix := "fix: " + g.Fix
			if g.Location != nil {
				fix += " (" + g.Location.Dockerfile + ":" + itoa(g.Location.Line) + ")"
			}
			ew.Printf("      %s\n", escape.Text(oneLine(fix, 160)))
		}
	}
}

// writeInherited names the largest groups of the base image's layers, one
// line each: the Dockerfile's author cannot act on them there.
func writeInherited(ew *textfmt.Writer, p textfmt.Painter, gs []*gate.Group, top int) {
	if len(gs) == 0 {
		return
	}
	var findings int
	var bytes int64
	for _, g := range gs {
		findings += g.Findings
		bytes += g.Bytes
	}
	ew.Printf("\n%s\n", p.Paint("1", "Inherited from the base image ("+textfmt.Plural(findings, "finding", "findings")+", "+analyze.Bytes(bytes)+"; fix them upstream or choose another base)"))
	tw := newTable("", "", "", "", "", "")
	for _, g := range gs[:min(len(gs), top)] {
		tw.add(g.Severity.String(), escape.Text(g.Rule), layerLabel(g.Layer), bytesLabel(g.Bytes), itoa(g.Findings), escape.Text(g.Path))
	}
	for _, l := range tw.lines()[1:] {
		ew.Printf("  %s\n", l)
	}
	if rest := len(gs) - top; rest > 0 {
		ew.Printf("  … and %s\n", textfmt.Plural(rest, "more group", "more groups"))
	}
}

func groupMark(g *gate.Group) string {
	switch {
	case g.Failing > 0:
		return "FAIL"
	case g.Accepted:
		return "accepted"
	}
	return ""
}

// table aligns columns of text.
type table struct{ rows [][]string }

func newTable(head ...string) *table { return &table{rows: [][]string{head}} }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) lines() []string {
	width := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for c, v := range r {
			width[c] = max(width[c], utf8.RuneCountInString(v))
		}
	}
	out := make([]string, 0, len(t.rows))
	for _, r := range t.rows {
		var b strings.Builder
		for c, v := range r {
			b.WriteString(v)
			b.WriteString(strings.Repeat(" ", width[c]-utf8.RuneCountInString(v)+2))
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

func (t *table) write(ew *textfmt.Writer, indent string) {
	for _, l := range t.lines() {
		ew.Printf("%s%s\n", indent, l)
	}
}

// writeTextAll lists every finding, grouped by severity, most severe
// first, with the columns of each group aligned; the checks, totals and
// verdict come last so that the end of a CI log says what happened.
func writeTextAll(w io.Writer, results []*gate.Result, opts Options) error {
	ew := textfmt.NewWriter(w)
	p := textfmt.Painter(opts.Color)
	for i, r := range results {
		if i > 0 {
			ew.Printf("\n")
		}
		writeTextHead(ew, p, r)
		for _, sev := range severities() {
			writeGroup(ew, p, r, sev)
		}
		writeChecks(ew, p, r)
		writeTextTail(ew, p, r)
	}
	return ew.Err
}

func writeGroup(ew *textfmt.Writer, p textfmt.Painter, r *gate.Result, sev rules.Severity) {
	var fs []*gate.Finding
	failing := 0
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Severity == sev {
			fs = append(fs, f)
			if f.Failing {
				failing++
			}
		}
	}
	if len(fs) == 0 {
		return
	}
	head := sev.String() + " (" + textfmt.Plural(len(fs), "finding", "findings")
	if failing > 0 {
		head += ", " + textfmt.Plural(failing, "fails", "fail") + " the gate"
	}
	ew.Printf("\n%s\n", paintSeverity(p, sev, head+")"))
	cols := make([][]string, len(fs))
	width := make([]int, 5)
	for i, f := range fs {
		mark := ""
		switch {
		case f.Failing:
			mark = "FAIL"
		case f.Suppressed != nil:
			mark = "suppressed"
		case f.Baselined:
			mark = "baselined"
		}
		cols[i] = []string{escape.Text(f.Rule), escape.Text(f.Name), layerLabel(f.Layer), bytesLabel(f.Bytes), escape.Text(displayPath(f.Path)), mark}
		for c := range width {
			width[c] = max(width[c], utf8.RuneCountInString(cols[i][c]))
		}
	}
	for i, f := range fs {
		var line strings.Builder
		for c, v := range cols[i][:5] {
			line.WriteString(v)
			line.WriteString(strings.Repeat(" ", width[c]-utf8.RuneCountInString(v)+2))
		}
		line.WriteString(cols[i][5])
		ew.Printf("  %s\n", strings.TrimRight(line.String(), " "))
		ew.Printf("      %s\n", escape.Text(f.Message))
		if f.Fix != "" {
			ew.Printf("      fix: %s\n", escape.Text(f.Fix))
		}
		if f.CreatedBy != "" || f.Location != nil {
			from := escape.Text(oneLine(f.CreatedBy, 100))
			if f.Location != nil {
				from = strings.TrimSpace(from + " (" + escape.Text(f.Location.Dockerfile) + ":" + itoa(f.Location.Line) + ")")
			}
			ew.Printf("      from: %s\n", from)
		}
		if s := f.Suppressed; s != nil {
			until := ""
			if s.Expires != "" {
				until = " until " + s.Expires
			}
			ew.Printf("      suppressed%s by %s: %s\n", escape.Text(until), escape.Text(s.Source), escape.Text(s.Reason))
		}
	}
}

// writeChecks lists the thresholds and dive rules that were evaluated,
// passing ones included: a gate that passed should say what it checked.
func writeChecks(ew *textfmt.Writer, p textfmt.Painter, r *gate.Result) {
	var rows [][3]string
	for _, rr := range r.Rules {
		if rr.Measured == "" || rr.Status != gate.Enabled {
			continue
		}
		state := "pass"
		switch {
		case rr.Failing > 0:
			state = "FAIL"
		case rr.Findings > 0:
			state = "over" // exceeded, but accepted or below the failure level
		}
		rows = append(rows, [3]string{rr.ID, state, rr.Measured})
	}
	if len(rows) == 0 {
		return
	}
	ew.Printf("\n%s\n", p.Paint("1", "Checks"))
	w0, w1 := 0, 0
	for _, row := range rows {
		w0, w1 = max(w0, len(row[0])), max(w1, len(row[1]))
	}
	for _, row := range rows {
		ew.Printf("  %-*s  %-*s  %s\n", w0, row[0], w1, row[1], escape.Text(row[2]))
	}
}
