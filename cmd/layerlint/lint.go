package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/layerlint/layerlint/internal/userfile"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/htmlreport"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
	"github.com/layerlint/layerlint/rules/format"
	"github.com/layerlint/layerlint/rules/gate"
)

func lintCommand() *cli.Command {
	formats := formatNames(format.Formats())
	return &cli.Command{
		Name:      "lint",
		Usage:     "check an image against the rules and a CI policy",
		ArgsUsage: "IMAGE",
		Description: "Analyzes the image, runs every rule (docs/rules/) and judges the findings with\n" +
			"the configuration: .layerlint.yaml from the working directory or a parent (or --config),\n" +
			"and dive's .dive-ci found beside it (or --dive-ci). Exits 0 when no finding reaches\n" +
			"the failure level, 1 when one does. With a .dive-ci and no .layerlint.yaml, only the dive\n" +
			"rules decide, as in dive; --fail-on or a .layerlint.yaml makes layerlint's rules count.\n" +
			"See docs/lint.md and docs/config.md.",
		Flags: append(imageFlags(),
			&cli.StringFlag{Name: "config", Usage: "read the configuration from `FILE` instead of searching for .layerlint.yaml"},
			&cli.StringFlag{Name: "dive-ci", Usage: "apply dive's CI rules from `FILE` (default: a .dive-ci beside the configuration)"},
			&cli.StringFlag{Name: "fail-on", Usage: "the lowest severity, `LEVEL`, that fails the gate: error, warning, info or never (default: the configuration's failOn, else error)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: " + strings.Join(formats, ", ")},
			&cli.StringFlag{Name: "output", Value: "-", Usage: "write the output to `FILE` (- for standard output)"},
			&cli.BoolFlag{Name: "all", Usage: "text format: list every finding one by one instead of a screen of findings grouped by problem"},
			&cli.StringFlag{Name: "baseline", Usage: "accept the findings recorded in `FILE`"},
			&cli.StringFlag{Name: "write-baseline", Usage: "record the current findings in `FILE` and accept them"},
			&cli.StringFlag{Name: "copy-up", Usage: "quote the copy-up costs measured by `mount --probe-copy-up --probe-output FILE`"},
			&cli.BoolFlag{Name: "estimate-compression", Usage: "estimate what zstd would save on each gzip layer for LL013 (reads those layers twice)"},
			&cli.StringFlag{Name: "dockerfile", Usage: "map layers to the instructions of the Dockerfile at `PATH` (relative to the repository root for annotations)"},
		),
		Action: runLint,
	}
}

// lintFlags are the lint flags, read and checked before any work.
type lintFlags struct {
	format        format.Format
	html          bool // the HTML page, which needs more than the results
	failOn        gate.FailOn
	output        string
	writeBaseline string
}

func readLintFlags(c *cli.Context) (lintFlags, error) {
	var lf lintFlags
	var err error
	if c.String("format") == "html" {
		lf.html = true
	} else if lf.format, err = format.Parse(c.String("format")); err != nil {
		return lf, withCode(ExitInput, fmt.Errorf("lint: --format: %w (or html)", err))
	}
	if c.IsSet("fail-on") {
		if lf.failOn, err = gate.ParseFailOn(c.String("fail-on")); err != nil {
			return lf, withCode(ExitInput, fmt.Errorf("lint: --%w", err))
		}
	}
	lf.output = c.String("output")
	lf.writeBaseline = c.String("write-baseline")
	return lf, nil
}

func runLint(c *cli.Context) error {
	lf, err := readLintFlags(c)
	if err != nil {
		return err
	}
	g, opts, err := newGate(c, lf)
	if err != nil {
		return err
	}
	src, err := openImage(c)
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	var copyUp map[string]rules.CopyUpMeasure
	if p := c.String("copy-up"); p != "" {
		if copyUp, err = readProbe(p); err != nil {
			return withCode(ExitInput, err)
		}
	}
	ruleOpts := g.RuleOptions()
	ruleOpts.EstimateCompression = ruleOpts.EstimateCompression || c.Bool("estimate-compression")
	facts, err := gatherFacts(c, src, imgs, ruleOpts, copyUp)
	if err != nil {
		return err
	}
	results := evaluate(g, facts)
	if lf.writeBaseline != "" {
		// Recording the baseline accepts what it records: evaluate again
		// with it so this run's verdict is the next run's.
		b := gate.NewBaseline(results...)
		b.Name = lf.writeBaseline
		if err := writeFile(lf.writeBaseline, func(w io.Writer) error { return gate.WriteBaseline(w, b) }); err != nil {
			return err
		}
		opts.Baseline = b
		if g, err = gate.New(opts); err != nil {
			return withCode(ExitInput, err)
		}
		results = evaluate(g, facts)
	}

	fopts := format.Options{Version: version, All: c.Bool("all")}
	write := func(w io.Writer) error { return format.Write(w, lf.format, results, fopts) }
	if lf.html {
		write = func(w io.Writer) error {
			return htmlreport.Write(w, htmlreport.KindLint, lintPages(facts, results), htmlreport.Options{Version: version})
		}
	}
	fopts.Color = toStdout(lf.output) && lf.format == format.Text && useColor(c.App.Writer)
	if err := writeReport(c, lf.output, write); err != nil {
		return err
	}

	failed := false
	for _, r := range results {
		failed = failed || r.Summary.Result == gate.Fail
		if !toStdout(lf.output) {
			// The report went to a file: the log still says the verdict.
			fmt.Fprintf(c.App.ErrWriter, "layerlint: lint %s: %s (report: %s)\n", escape.Text(r.Report.Image.Reference), r.Summary.Result, escape.Text(lf.output))
		}
	}
	if failed {
		return withCode(ExitFailed, errSilent)
	}
	return nil
}

// gatherFacts analyzes each image of src and gathers what the rules
// read about it.
func gatherFacts(c *cli.Context, src *source.Source, imgs []*source.Image, ruleOpts rules.Options, copyUp map[string]rules.CopyUpMeasure) ([]*rules.Facts, error) {
	var facts []*rules.Facts
	for _, img := range imgs {
		f, err := lintFacts(c, src, img, referenceName(c, img, len(imgs) > 1), ruleOpts)
		if err != nil {
			return nil, err
		}
		f.CopyUp = copyUp
		facts = append(facts, f)
	}
	return facts, nil
}

// lintPages pairs each result with the merged view its map draws.
func lintPages(facts []*rules.Facts, results []*gate.Result) []htmlreport.Image {
	out := make([]htmlreport.Image, len(results))
	for i, r := range results {
		out[i] = htmlreport.Image{Report: r.Report, Model: facts[i].Model, Lint: r}
	}
	return out
}

func evaluate(g *gate.Gate, facts []*rules.Facts) []*gate.Result {
	out := make([]*gate.Result, 0, len(facts))
	for _, f := range facts {
		out = append(out, g.EvaluateFacts(f))
	}
	return out
}

// newGate builds the gate of lint's flags and configuration, and returns
// the options it was built from.
func newGate(c *cli.Context, lf lintFlags) (*gate.Gate, gate.Options, error) {
	opts, err := gateOptions(c, lf)
	if err != nil {
		return nil, opts, withCode(ExitInput, err)
	}
	g, err := gate.New(opts)
	if err != nil {
		return nil, opts, withCode(ExitInput, err)
	}
	return g, opts, nil
}

// lintFacts analyzes one image of src, named name in the reports, and
// gathers what the rules read about it. Secrets are looked for in file
// content in the same single read of each layer that analysis makes.
func lintFacts(c *cli.Context, src *source.Source, img *source.Image, name string, ruleOpts rules.Options) (*rules.Facts, error) {
	scan := rules.NewContentScan()
	aopts := analyzeOptions(c, src, img)
	aopts.Scan = scan
	a, err := analyzeImage(c, img, name, aopts)
	if err != nil {
		return nil, fmt.Errorf("analyzing %s: %w", name, err)
	}
	a.Report.Image.Reference = name
	f, err := rules.Gather(c.Context, a, ruleOpts, scan)
	if err != nil {
		return nil, fmt.Errorf("estimating compression of %s: %w", name, err)
	}
	return f, nil
}

// formatNames lists the formats of a --format flag: a report's own, then
// html (the page of internal/htmlreport).
func formatNames[F fmt.Stringer](formats []F) []string {
	names := make([]string, 0, len(formats)+1)
	for _, f := range formats {
		names = append(names, f.String())
	}
	return append(names, "html")
}

// toStdout says whether an --output value means standard output.
func toStdout(output string) bool { return output == "-" || output == "" }

// writeReport writes a report to standard output or to the file output
// names.
func writeReport(c *cli.Context, output string, write func(io.Writer) error) error {
	if toStdout(output) {
		return write(c.App.Writer)
	}
	return writeFile(output, write)
}

// gateOptions loads the configuration, the .dive-ci, the baseline and the
// Dockerfile the flags or the working directory name.
func gateOptions(c *cli.Context, lf lintFlags) (gate.Options, error) {
	opts := gate.Options{FailOn: lf.failOn}
	cfgPath, divePath := c.String("config"), ""
	if cfgPath != "" {
		p := filepath.Join(filepath.Dir(cfgPath), config.DiveCIFileName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			divePath = p
		}
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return opts, fmt.Errorf("lint: %w", err)
		}
		if cfgPath, divePath, err = config.Find(wd); err != nil {
			return opts, err
		}
		cfgPath, divePath = relative(wd, cfgPath), relative(wd, divePath)
	}
	if c.String("dive-ci") != "" {
		divePath = c.String("dive-ci")
	}
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return opts, err
		}
		opts.Config = cfg
	}
	if divePath != "" {
		d, err := config.LoadDiveCI(divePath)
		if err != nil {
			return opts, err
		}
		opts.DiveCI = d
	}
	if p := c.String("baseline"); p != "" {
		b, err := readFile(p, func(r io.Reader) (*gate.Baseline, error) { return gate.ReadBaseline(r, p) })
		if err != nil {
			return opts, err
		}
		opts.Baseline = b
	}
	if p := c.String("dockerfile"); p != "" {
		d, err := readFile(p, func(r io.Reader) (*gate.Dockerfile, error) { return gate.ParseDockerfile(r, p) })
		if err != nil {
			return opts, err
		}
		opts.Dockerfile = d
	}
	return opts, nil
}

// relative shows a found file relative to the working directory, as a
// person would type it.
func relative(wd, p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.Rel(wd, p); err == nil {
		return r
	}
	return p
}

// readFile parses a file that the user named, read by userfile.Read: never
// a FIFO or device, never more than its cap.
func readFile[T any](p string, parse func(io.Reader) (T, error)) (T, error) {
	b, err := userfile.Read(p, 0)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(bytes.NewReader(b))
}

// writeFile writes through a temporary file renamed into place, so a
// failed run never leaves half a report where CI looks for one.
func writeFile(p string, write func(io.Writer) error) (err error) {
	if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() {
		return writeSpecial(p, write) // /dev/stdout, a named pipe: no rename possible
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", p, err), os.Remove(f.Name()))
	}
	return nil
}

func writeSpecial(p string, write func(io.Writer) error) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}
