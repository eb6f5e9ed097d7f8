package analyze

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
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

// writeSummary writes the summary table of the text report.
func writeSummary(ew *textfmt.Writer, r *Report, p textfmt.Painter) error {
	img := r.Image
	s := r.Summary
	ew.Printf("\n%s\n", p.Bold("Summary"))
	kv := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	row := func(k, v string) { _, _ = fmt.Fprintf(kv, "  %s\t%s\n", k, v) }
	row("layers", fmt.Sprintf("%d (%d base)", s.Layers, img.Base.Layers))
	row("download size", Bytes(s.CompressedSize))
	row("content", fmt.Sprintf("%s in %d layers", Bytes(s.ContentBytes), s.Layers-s.NotAnalyzed))
	row("merged view", fmt.Sprintf("%d paths, %d files, %s", s.MergedEntries, s.MergedFiles, Bytes(s.MergedBytes)))
	wasted := fmt.Sprintf("%s (overwritten %s, deleted %s, opaque %s, replaced %s)", Bytes(s.WastedBytes),
		Bytes(s.WastedByCause.Overwritten), Bytes(s.WastedByCause.Deleted), Bytes(s.WastedByCause.Opaque), Bytes(s.WastedByCause.Replaced))
	if s.WastedBytes > 0 {
		wasted = p.Warn(wasted)
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
	row("efficiency", textfmt.Percent(s.Efficiency))
	above := fmt.Sprintf("%s wasted of %s added", Bytes(s.UserWastedBytes), Bytes(s.UserContentBytes))
	if s.UserWastedRatio != nil {
		above += " (" + textfmt.Percent(*s.UserWastedRatio) + ")"
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
	return nil
}

// WriteText writes the report for a person reading a terminal.
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	ew := textfmt.NewWriter(w)
	p := textfmt.Painter(opts.Color)
	img := r.Image
	name := Printable(img.Reference)
	if img.Name != "" {
		name += " (" + Printable(img.Name) + ")"
	}
	ew.Printf("%s %s, %s\n", p.Bold("Image"), name, img.Format)
	ew.Printf("  manifest %s", Printable(img.ManifestDigest))
	if img.Platform != "" {
		ew.Printf("  platform %s", Printable(img.Platform))
	}
	ew.Printf("\n  base: %s (%s", textfmt.Plural(img.Base.Layers, "layer", "layers"), img.Base.Source)
	if img.Base.Name != "" {
		ew.Printf(", %s", Printable(img.Base.Name))
	}
	ew.Printf(")\n\n")

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
			wasted = p.Warn(wasted)
		}
		fmtRow(idx, Bytes(l.CompressedSize), Bytes(l.ContentBytes), wasted, Bytes(l.HiddenBytes),
			strconv.Itoa(l.Added), strconv.Itoa(l.Modified), strconv.Itoa(l.Deleted), "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Layers {
		if l.CreatedBy != "" {
			ew.Printf("  %d: %s\n", l.Index, p.Dim(oneLine(l.CreatedBy, 100)))
		}
	}

	if err := writeSummary(ew, r, p); err != nil {
		return err
	}

	if opts.Top > 0 && len(r.TopWaste) > 0 {
		ew.Printf("\n%s\n", p.Bold("Top wasted paths"))
		gw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		_, _ = fmt.Fprintf(gw, "  BYTES\tFILES\tCAUSE\tLAYER\tPATH\n")
		for i, g := range r.TopWaste {
			if i == opts.Top {
				break
			}
			path := Printable(g.Path)
			if g.Dir {
				path += "/"
			}
			_, _ = fmt.Fprintf(gw, "  %s\t%d\t%s\t%s→%d\t%s\n", Bytes(g.Bytes), g.Files, g.Cause, textfmt.JoinInts(g.Layers), g.HiddenBy, path)
		}
		if err := gw.Flush(); err != nil {
			return err
		}
		if rest := len(r.TopWaste) - opts.Top; rest > 0 {
			ew.Printf("  … %d more (--top N, or --format json)\n", rest)
		}
	}
	return ew.Err
}

// Bytes formats a size in SI units, as registries and docker show them
// (textfmt.Bytes, which the progress display uses too).
func Bytes(n int64) string { return textfmt.Bytes(n) }

func floatOrNull(f *float64) string {
	if f == nil {
		return "null"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
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
