package format

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// paintSeverity colours text by the severity it names.
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

// writeText groups findings by severity, most severe first, with the
// columns of each group aligned; the checks, totals and verdict come last
// so that the end of a CI log says what happened.
func writeText(w io.Writer, results []*gate.Result, opts Options) error {
	ew := textfmt.NewWriter(w)
	p := textfmt.Painter(opts.Color)
	for i, r := range results {
		if i > 0 {
			ew.Printf("\n")
		}
		ew.Printf("%s %s\n", p.Paint("1", "Lint"), escape.Text(imageName(r)))
		s := r.Summary
		var src []string
		if s.Config != "" {
			src = append(src, "config "+escape.Text(s.Config))
		}
		if s.DiveCI != "" {
			src = append(src, "dive-ci "+escape.Text(s.DiveCI))
		}
		if s.Dockerfile != "" {
			src = append(src, "Dockerfile "+escape.Text(s.Dockerfile))
		}
		if len(src) > 0 {
			ew.Printf("  %s\n", strings.Join(src, ", "))
		}
		for _, sev := range severities() {
			writeGroup(ew, p, r, sev)
		}
		writeChecks(ew, p, r)
		ew.Printf("\n%s  %s\n", p.Paint("1", "Totals"), totals(s))
		verdict := verdictLine(s)
		if s.Result == gate.Fail {
			verdict = p.Paint("1;31", verdict)
		}
		ew.Printf("%s %s\n", p.Paint("1", "Verdict"), verdict)
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
