package diff

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules/gate"
)

// Format is an output format of a diff.
type Format uint8

// Formats.
const (
	Text Format = iota + 1
	JSON
	Markdown
)

// Formats lists every format, in the order help texts show them.
func Formats() []Format { return []Format{Text, JSON, Markdown} }

func (f Format) String() string {
	switch f {
	case Text:
		return "text"
	case JSON:
		return "json"
	case Markdown:
		return "markdown"
	}
	return "format(" + itoa(int(f)) + ")"
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) { return textfmt.ParseName("format", s, Formats()) }

// Options tune the writers.
type Options struct {
	// Color adds ANSI colours to text output.
	Color bool
	// Top is how many directories, waste changes and findings the text
	// report and the visible part of the Markdown comment list (0: 8).
	Top int
}

// DefaultTop is Options.Top's default.
const DefaultTop = 8

// Write writes r in format f. Every writer gives the same bytes for the
// same result, and passes every image-derived string through package
// escape.
func Write(w io.Writer, f Format, r *Result, opts Options) error {
	if opts.Top <= 0 {
		opts.Top = DefaultTop
	}
	var err error
	switch f {
	case Text:
		err = writeText(w, r, opts)
	case JSON:
		err = escape.WriteJSON(w, r)
	case Markdown:
		err = writeMarkdown(w, r, opts)
	default:
		return fmt.Errorf("format %d: unknown", f)
	}
	if err != nil {
		return fmt.Errorf("writing %s output: %w", f, err)
	}
	return nil
}

// change formats a delta with its sign and, when the old value is not
// zero, its percentage: "+1.2 MB (+3.4%)".
func change(s Sizes) string {
	out := signedBytes(s.Delta)
	if s.Old != 0 && s.Delta != 0 {
		out += " (" + signedPercent(float64(s.Delta)/float64(s.Old)) + ")"
	}
	return out
}

func countChange(s Sizes) string {
	switch {
	case s.Delta > 0:
		return "+" + strconv.FormatInt(s.Delta, 10)
	case s.Delta < 0:
		return strconv.FormatInt(s.Delta, 10)
	}
	return "±0"
}

func baseLine(r *Result) string {
	name := r.New.BaseName
	if name == "" {
		name = "the bottom " + plural(r.New.BaseLayers, "layer", "layers")
	}
	if !r.BaseChanged {
		return "base " + name + ": unchanged"
	}
	old := r.Old.BaseName
	if old != "" && old != r.New.BaseName {
		name = old + " → " + name
	}
	return "base " + name + ": changed (" + change(r.Base.Compressed) + " download), not by the layers above it"
}

// table aligns columns; right aligns the columns whose index is set.
func table(rows [][]string, right map[int]bool) []string {
	if len(rows) == 0 {
		return nil
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for c, v := range r {
			width[c] = max(width[c], utf8.RuneCountInString(v))
		}
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var b strings.Builder
		for c, v := range r {
			pad := strings.Repeat(" ", width[c]-utf8.RuneCountInString(v))
			if right[c] {
				b.WriteString(pad + v)
			} else {
				b.WriteString(v + pad)
			}
			b.WriteString("  ")
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

func sizeRows(r *Result) [][]string {
	rows := [][]string{{"", "OLD", "NEW", "CHANGE"}}
	add := func(name string, s Sizes) {
		rows = append(rows, []string{name, analyze.Bytes(s.Old), analyze.Bytes(s.New), change(s)})
	}
	add("download", r.Total.Compressed)
	add("  base image", r.Base.Compressed)
	add("  above the base", r.Above.Compressed)
	add("content", r.Total.Content)
	add("  base image", r.Base.Content)
	add("  above the base", r.Above.Content)
	add("merged view", r.Files.Merged)
	add("wasted", r.Waste.Total)
	add("  above the base", r.Waste.Above)
	rows = append(rows, []string{"layers", itoa(int(r.Total.Layers.Old)), itoa(int(r.Total.Layers.New)), countChange(r.Total.Layers)})
	return rows
}

func layerStatusCounts(r *Result) string {
	var added, removed int
	for _, l := range r.Layers {
		switch l.Status {
		case Added:
			added++
		case Removed:
			removed++
		case Shared:
		}
	}
	return fmt.Sprintf("%d shared, %d added, %d removed", r.SharedLayers, added, removed)
}

func indexLabel(i int, base bool) string {
	if i < 0 {
		return "-"
	}
	s := itoa(i)
	if base {
		s += "b"
	}
	return s
}

func filesLine(f Files) string {
	return fmt.Sprintf("%d added (%s), %d removed (%s), %d changed (%s)",
		f.Added, analyze.Bytes(f.AddedBytes), f.Removed, analyze.Bytes(f.RemovedBytes), f.Changed, signedBytes(f.ChangedBytes))
}

func kindMark(k ChangeKind) string {
	switch k {
	case Appeared:
		return "+"
	case Vanished:
		return "-"
	case Modified:
		return "~"
	}
	return "?"
}

// changeSize says how a path changed: its sizes, or for a symlink its
// target ("link → /usr/lib/x"), quoted by quote for the output's context
// (the target is the image's text, escaped like every other).
func changeSize(c Change, quote func(string) string) string {
	side := func(size int64, link string) string {
		if link != "" {
			return "link " + quote(link)
		}
		return analyze.Bytes(size)
	}
	switch c.Kind {
	case Appeared:
		return side(c.New, c.NewLink)
	case Vanished:
		return side(c.Old, c.OldLink)
	case Modified:
		return side(c.Old, c.OldLink) + " → " + side(c.New, c.NewLink)
	}
	return ""
}

func findingsLine(fs *Findings) string {
	if fs == nil {
		return "not compared"
	}
	return fmt.Sprintf("%d new, %d fixed (%d → %d findings)", len(fs.New), len(fs.Fixed), fs.OldCount, fs.NewCount)
}

func writeText(w io.Writer, r *Result, opts Options) error {
	ew := textfmt.NewWriter(w)
	p := textfmt.Painter(opts.Color)
	ew.Printf("%s %s → %s\n", p.Bold("Diff"), escape.Text(r.Old.Reference), escape.Text(r.New.Reference))
	ew.Printf("  %s\n", escape.Text(baseLine(r)))

	ew.Printf("\n%s\n", p.Bold("Size"))
	for _, l := range table(sizeRows(r), map[int]bool{1: true, 2: true}) {
		ew.Printf("  %s\n", l)
	}

	ew.Printf("\n%s\n", p.Bold("Layers ("+layerStatusCounts(r)+")"))
	rows := [][]string{{"STATUS", "OLD", "NEW", "CONTENT", "DOWNLOAD", "CREATED BY"}}
	for _, l := range r.Layers {
		rows = append(rows, []string{l.Status.String(), indexLabel(l.OldIndex, l.Base), indexLabel(l.NewIndex, l.Base), analyze.Bytes(l.Content), analyze.Bytes(l.Compressed),
			escape.Text(oneLine(l.CreatedBy, 70))})
	}
	for _, l := range table(rows, map[int]bool{1: true, 2: true, 3: true, 4: true}) {
		ew.Printf("  %s\n", l)
	}

	ew.Printf("\n%s\n", p.Bold("Files: "+filesLine(r.Files)))
	if len(r.Files.Dirs) == 0 {
		ew.Printf("  no file changed\n")
	}
	for i, d := range r.Files.Dirs {
		if i == opts.Top {
			ew.Printf("  … and %s\n", plural(len(r.Files.Dirs)-i+r.Files.DirsMore, "more directory", "more directories"))
			break
		}
		ew.Printf("  %-10s %s  (+%d -%d ~%d)\n", signedBytes(d.Delta), escape.Text(d.Path), d.Added, d.Removed, d.Changed)
		for _, c := range d.Largest {
			ew.Printf("      %s %s  %s\n", kindMark(c.Kind), escape.Text(c.Path), changeSize(c, escape.Text))
		}
	}

	ew.Printf("\n%s\n", p.Bold(fmt.Sprintf("Waste: %s (above the base %s)", change(r.Waste.Total), change(r.Waste.Above))))
	writeWasteText(ew, "added", r.Waste.Added, opts.Top)
	writeWasteText(ew, "removed", r.Waste.Removed, opts.Top)

	ew.Printf("\n%s\n", p.Bold("Findings: "+findingsLine(r.Findings)))
	if fs := r.Findings; fs != nil {
		writeFindingsText(ew, "new", fs.New, opts.Top)
		writeFindingsText(ew, "fixed", fs.Fixed, opts.Top)
	}

	if v := r.Verdict; v != nil && len(v.Checks) > 0 {
		ew.Printf("\n%s\n", p.Bold("Checks"))
		for _, c := range v.Checks {
			state := "pass"
			if c.Failed {
				state = "FAIL"
			}
			ew.Printf("  %-11s  %-4s  %s; limit %s\n", c.Name, state, escape.Text(c.Measured), escape.Text(c.Limit))
		}
		verdict := v.Result
		if v.Result == "fail" {
			verdict = p.Paint("1;31", "FAIL")
		}
		ew.Printf("%s %s\n", p.Bold("Verdict"), verdict)
	}
	return ew.Err
}

func writeWasteText(ew *textfmt.Writer, what string, ws []WasteChange, top int) {
	for i, c := range ws {
		if i == top {
			ew.Printf("  … and %d more %s\n", len(ws)-i, what)
			break
		}
		ew.Printf("  %-7s %-10s %-11s %s\n", what, signedBytes(c.New-c.Old), c.Cause, escape.Text(c.Path))
	}
}

func writeFindingsText(ew *textfmt.Writer, what string, fs []gate.Finding, top int) {
	for i, f := range fs {
		if i == top {
			ew.Printf("  … and %d more %s\n", len(fs)-i, what)
			break
		}
		where := f.Path
		if where == "" {
			where = "image"
		}
		ew.Printf("  %-5s  %-7s  %s  %s\n", what, f.Severity, escape.Text(f.Rule), escape.Text(where))
		ew.Printf("         %s\n", escape.Text(oneLine(f.Message, 150)))
	}
}

func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

// writeMarkdown writes a pull-request comment: a title with the download
// change, a table of sizes, the gates, the largest directory changes and
// new findings, all on one screen; every table in full inside a
// collapsed <details> section.
func writeMarkdown(w io.Writer, r *Result, opts Options) error {
	ew := textfmt.NewWriter(w)
	icon := "📦"
	if r.Failed() {
		icon = "❌"
	}
	ew.Printf("### %s layerlint diff: %s download — %s → %s\n\n", icon, escape.Markdown(change(r.Total.Compressed)),
		escape.MarkdownCode(r.Old.Reference), escape.MarkdownCode(r.New.Reference))
	ew.Printf("%s\n\n", escape.Markdown(baseLine(r)))
	ew.Printf("| | old | new | change |\n| --- | --: | --: | --: |\n")
	for _, row := range sizeRows(r)[1:] {
		name := strings.TrimSpace(row[0])
		if strings.HasPrefix(row[0], "  ") {
			name = "↳ " + name
		}
		ew.Printf("| %s | %s | %s | %s |\n", name, row[1], row[2], escape.Markdown(row[3]))
	}
	ew.Printf("| files | | | %s |\n", escape.Markdown(fmt.Sprintf("+%d −%d ~%d", r.Files.Added, r.Files.Removed, r.Files.Changed)))
	if fs := r.Findings; fs != nil {
		ew.Printf("| findings | %d | %d | %d new, %d fixed |\n", fs.OldCount, fs.NewCount, len(fs.New), len(fs.Fixed))
	}
	if v := r.Verdict; v != nil && len(v.Checks) > 0 {
		ew.Printf("\n")
		for _, c := range v.Checks {
			mark := "✅"
			if c.Failed {
				mark = "❌"
			}
			ew.Printf("%s **%s**: %s; limit %s  \n", mark, c.Name, escape.Markdown(c.Measured), escape.Markdown(c.Limit))
		}
	}
	writeMarkdownHighlights(ew, r, min(opts.Top, 5))

	ew.Printf("\n<details><summary>Details: layers, files, waste, findings</summary>\n\n")
	writeMarkdownDetails(ew, r)
	ew.Printf("\n</details>\n")
	return ew.Err
}

// writeMarkdownHighlights writes the one-line summaries under the table:
// the largest directory changes and the new findings, top of each.
func writeMarkdownHighlights(ew *textfmt.Writer, r *Result, top int) {
	// Directories whose files changed at the same size (logs rewritten by
	// every apt run) changed no byte: the details table lists them, the
	// summary line does not.
	var parts []string
	for _, d := range r.Files.Dirs {
		if len(parts) == top {
			break
		}
		if d.Delta != 0 {
			parts = append(parts, escape.MarkdownCode(d.Path)+" "+escape.Markdown(signedBytes(d.Delta)))
		}
	}
	if len(parts) > 0 {
		ew.Printf("\n**Largest changes**: %s\n", strings.Join(parts, " · "))
	}
	if fs := r.Findings; fs != nil && len(fs.New) > 0 {
		ew.Printf("\n**New findings**: ")
		var parts []string
		for i, f := range fs.New {
			if i == top {
				parts = append(parts, fmt.Sprintf("and %d more", len(fs.New)-i))
				break
			}
			where := f.Path
			if where == "" {
				where = "image"
			}
			parts = append(parts, escape.Markdown(f.Severity.String()+" "+f.Rule)+" "+escape.MarkdownCode(where))
		}
		ew.Printf("%s\n", strings.Join(parts, " · "))
	}
}

// writeMarkdownDetails writes the full tables of the collapsed section.
func writeMarkdownDetails(ew *textfmt.Writer, r *Result) {
	ew.Printf("#### Layers (%s)\n\n| | old | new | content | download | created by |\n| --- | --: | --: | --: | --: | --- |\n", layerStatusCounts(r))
	for _, l := range r.Layers {
		ew.Printf("| %s | %s | %s | %s | %s | %s |\n", l.Status, indexLabel(l.OldIndex, l.Base), indexLabel(l.NewIndex, l.Base),
			analyze.Bytes(l.Content), analyze.Bytes(l.Compressed), escape.MarkdownCode(oneLine(l.CreatedBy, 80)))
	}
	ew.Printf("\n#### Files: %s\n\n", escape.Markdown(filesLine(r.Files)))
	if len(r.Files.Dirs) > 0 {
		ew.Printf("| change | directory | added | removed | changed | largest |\n| --: | --- | --: | --: | --: | --- |\n")
		for _, d := range r.Files.Dirs {
			var largest []string
			for _, c := range d.Largest {
				largest = append(largest, kindMark(c.Kind)+" "+escape.MarkdownCode(c.Path)+" "+changeSize(c, escape.MarkdownCode))
			}
			ew.Printf("| %s | %s | %d | %d | %d | %s |\n", escape.Markdown(signedBytes(d.Delta)), escape.MarkdownCode(d.Path), d.Added, d.Removed, d.Changed, strings.Join(largest, "<br>"))
		}
		if r.Files.DirsMore > 0 {
			ew.Printf("\n… and %s (see `layerlint diff --format json`).\n", plural(r.Files.DirsMore, "more directory", "more directories"))
		}
	}
	ew.Printf("\n#### Waste: %s\n\n", escape.Markdown(change(r.Waste.Total)))
	if len(r.Waste.Added)+len(r.Waste.Removed) > 0 {
		ew.Printf("| | change | cause | path |\n| --- | --: | --- | --- |\n")
		for _, set := range []struct {
			what string
			ws   []WasteChange
		}{{"added", r.Waste.Added}, {"removed", r.Waste.Removed}} {
			for _, c := range set.ws {
				ew.Printf("| %s | %s | %s | %s |\n", set.what, escape.Markdown(signedBytes(c.New-c.Old)), escape.Markdown(c.Cause), escape.MarkdownCode(c.Path))
			}
		}
	}
	ew.Printf("\n#### Findings: %s\n", escape.Markdown(findingsLine(r.Findings)))
	if fs := r.Findings; fs != nil && len(fs.New)+len(fs.Fixed) > 0 {
		ew.Printf("\n| | severity | rule | where | finding |\n| --- | --- | --- | --- | --- |\n")
		for _, set := range []struct {
			what string
			fs   []gate.Finding
		}{{"new", fs.New}, {"fixed", fs.Fixed}} {
			for _, f := range set.fs {
				where := f.Path
				if where == "" {
					where = "image"
				}
				ew.Printf("| %s | %s | %s | %s | %s |\n", set.what, f.Severity, escape.Markdown(f.Rule+" "+f.Name), escape.MarkdownCode(where), escape.Markdown(oneLine(f.Message, 200)))
			}
		}
	}
}
