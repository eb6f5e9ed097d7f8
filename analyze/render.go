package analyze

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/layerlint/layerlint/internal/escape"
)

// WriteJSON writes the report as indented JSON, the contract of
// docs/json.md.
func WriteJSON(w io.Writer, v any) error {
	if err := escape.WriteJSON(w, v); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}

// TextOptions tune the text report.
type TextOptions struct {
	// Top is how many wasted-path groups to list (0: none).
	Top int
	// Color adds ANSI colours; the CLI sets it only on a terminal without
	// NO_COLOR.
	Color bool
}

type painter bool

func (p painter) paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p painter) bold(s string) string { return p.paint("1", s) }
func (p painter) warn(s string) string { return p.paint("33", s) }
func (p painter) dim(s string) string  { return p.paint("2", s) }

// WriteText writes the report for a person reading a terminal.
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	ew := &errWriter{w: w}
	p := painter(opts.Color)
	img := r.Image
	name := Printable(img.Reference)
	if img.Name != "" {
		name += " (" + Printable(img.Name) + ")"
	}
	ew.printf("%s %s, %s\n", p.bold("Image"), name, img.Format)
	ew.printf("  manifest %s", Printable(img.ManifestDigest))
	if img.Platform != "" {
		ew.printf("  platform %s", Printable(img.Platform))
	}
	ew.printf("\n  base: %d layer%s (%s", img.Base.Layers, plural(img.Base.Layers), img.Base.Source)
	if img.Base.Name != "" {
		ew.printf(", %s", Printable(img.Base.Name))
	}
	ew.printf(")\n\n")

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmtRow := func(cols ...string) { _, _ = fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t") }
	fmtRow("LAYER", "WIRE", "CONTENT", "WASTED", "HIDES", "+ADD", "~MOD", "-DEL", "")
	for _, l := range r.Layers {
		idx := strconv.Itoa(l.Index)
		if l.Base {
			idx += "b"
		}
		if !l.Analyzed {
			fmtRow(idx, Bytes(l.CompressedSize), "-", "-", "-", "-", "-", "-", "not analyzed: "+Printable(l.NotAnalyzed))
			continue
		}
		wasted := Bytes(l.WastedBytes)
		if l.WastedBytes > 0 {
			wasted = p.warn(wasted)
		}
		fmtRow(idx, Bytes(l.CompressedSize), Bytes(l.ContentBytes), wasted, Bytes(l.HiddenBytes),
			strconv.Itoa(l.Added), strconv.Itoa(l.Modified), strconv.Itoa(l.Deleted), "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Layers {
		if l.CreatedBy != "" {
			ew.printf("  %d: %s\n", l.Index, p.dim(oneLine(l.CreatedBy, 100)))
		}
	}

	s := r.Summary
	ew.printf("\n%s\n", p.bold("Summary"))
	kv := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	row := func(k, v string) { _, _ = fmt.Fprintf(kv, "  %s\t%s\n", k, v) }
	row("layers", fmt.Sprintf("%d (%d base)", s.Layers, img.Base.Layers))
	row("download size", Bytes(s.CompressedSize))
	row("content", fmt.Sprintf("%s in %d layers", Bytes(s.ContentBytes), s.Layers-s.NotAnalyzed))
	row("merged view", fmt.Sprintf("%d paths, %d files, %s", s.MergedEntries, s.MergedFiles, Bytes(s.MergedBytes)))
	wasted := fmt.Sprintf("%s (overwritten %s, deleted %s, opaque %s, replaced %s)", Bytes(s.WastedBytes),
		Bytes(s.WastedByCause.Overwritten), Bytes(s.WastedByCause.Deleted), Bytes(s.WastedByCause.Opaque), Bytes(s.WastedByCause.Replaced))
	if s.WastedBytes > 0 {
		wasted = p.warn(wasted)
	}
	row("wasted", wasted)
	if s.MetadataOnlyBytes > 0 {
		row("  metadata-only", Bytes(s.MetadataOnlyBytes)+" re-added unchanged for a mode, owner or time change")
	}
	wire := "~" + Bytes(s.WastedWireBytes) + " (by each layer's compression ratio)"
	if s.WastedWireBytesExact != nil {
		wire = Bytes(*s.WastedWireBytesExact) + " (measured)"
	}
	row("wasted download", wire)
	row("efficiency", percent(s.Efficiency))
	above := fmt.Sprintf("%s wasted of %s added", Bytes(s.UserWastedBytes), Bytes(s.UserContentBytes))
	if s.UserWastedRatio != nil {
		above += " (" + percent(*s.UserWastedRatio) + ")"
	}
	row("above the base", above)
	row("dive", fmt.Sprintf("efficiency %s, wastedBytes %d, userWastedPercent %s",
		floatOrNull(r.Dive.Efficiency), r.Dive.WastedBytes, floatOrNull(r.Dive.UserWastedPercent)))
	if len(r.Anomalies) > 0 {
		row("anomalies", strconv.Itoa(len(r.Anomalies)))
	}
	if err := kv.Flush(); err != nil {
		return err
	}

	if opts.Top > 0 && len(r.TopWaste) > 0 {
		ew.printf("\n%s\n", p.bold("Top wasted paths"))
		gw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		_, _ = fmt.Fprintf(gw, "  BYTES\tFILES\tCAUSE\tLAYER\tPATH\n")
		for i, g := range r.TopWaste {
			if i == opts.Top {
				break
			}
			path := "/" + Printable(g.Path)
			if g.Dir {
				path += "/"
			}
			_, _ = fmt.Fprintf(gw, "  %s\t%d\t%s\t%s→%d\t%s\n", Bytes(g.Bytes), g.Files, g.Cause, joinInts(g.Layers), g.HiddenBy, path)
		}
		if err := gw.Flush(); err != nil {
			return err
		}
		if rest := len(r.TopWaste) - opts.Top; rest > 0 {
			ew.printf("  … %d more (--top N, or --format json)\n", rest)
		}
	}
	return ew.err
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}

// Bytes formats a size in SI units, as registries and docker show them.
func Bytes(n int64) string {
	const unit = 1000
	if n < unit && n > -unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= unit
		if f < unit && f > -unit {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " EB"
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func floatOrNull(f *float64) string {
	if f == nil {
		return "null"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func oneLine(s string, max int) string {
	s = Printable(strings.Join(strings.Fields(s), " "))
	if len(s) > max {
		cut := max - 1
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Printable is escape.Text: names and history come from the image, and a
// control sequence in them must not reach the reader's terminal.
func Printable(s string) string { return escape.Text(s) }

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
