package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/diff"
	"github.com/layerlint/layerlint/internal/htmlreport"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

func diffCommand() *cli.Command {
	formats := formatNames(diff.Formats())
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two builds of an image: size, layers, files, waste and findings",
		ArgsUsage: "OLD NEW",
		Description: "Analyzes and lints both images (with the configuration lint uses) and reports what\n" +
			"changed: the download and content size in total, of the base image and of the layers above\n" +
			"it; the layers shared (by diff_id) and not; the files added, removed and changed in the\n" +
			"merged view by directory, largest first; the waste added and removed; the findings new and\n" +
			"fixed (by fingerprint). --format markdown is a pull-request comment. Exits 1 when a gate\n" +
			"(--max-growth, --fail-on-new) fails, as lint does. See docs/diff.md.",
		Flags: append(imageFlagsExcept("platform"),
			&cli.StringFlag{Name: "platform", Usage: "`os/arch[/variant]` of multi-platform indexes (default: the host's, if present); one platform"},
			&cli.StringFlag{Name: "config", Usage: "read the lint configuration from `FILE` instead of searching for .layerlint.yaml"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: " + strings.Join(formats, ", ")},
			&cli.StringFlag{Name: "output", Value: "-", Usage: "write the output to `FILE` (- for standard output)"},
			&cli.StringFlag{Name: "max-growth", Usage: "fail when the download size of the layers above the base grows by more than `LIMIT`: bytes (5MB, 4MiB) or a percentage of their old size (10%)"},
			&cli.StringFlag{Name: "fail-on-new", Usage: "fail when a new finding, not accepted, reaches `LEVEL`: error, warning or info"},
		),
		Action: runDiff,
	}
}

type diffFlags struct {
	format diff.Format
	html   bool // the HTML page, which draws both images
	gates  diff.Gates
	output string
}

func readDiffFlags(c *cli.Context) (diffFlags, error) {
	var df diffFlags
	var err error
	if c.NArg() != 2 {
		return df, withCode(ExitInput, fmt.Errorf("diff: expected two arguments, OLD and NEW, got %d (see --help)", c.NArg()))
	}
	if c.String("format") == "html" {
		df.html = true
	} else if df.format, err = diff.ParseFormat(c.String("format")); err != nil {
		return df, withCode(ExitInput, fmt.Errorf("diff: --format: %w (or html)", err))
	}
	if s := c.String("max-growth"); s != "" {
		g, err := diff.ParseGrowth(s)
		if err != nil {
			return df, withCode(ExitInput, fmt.Errorf("diff: --%w", err))
		}
		df.gates.MaxGrowth = &g
	}
	if s := c.String("fail-on-new"); s != "" {
		switch s {
		case "error":
			df.gates.FailOnNew = rules.Error
		case "warning":
			df.gates.FailOnNew = rules.Warning
		case "info":
			df.gates.FailOnNew = rules.Info
		default:
			return df, withCode(ExitInput, fmt.Errorf("diff: --fail-on-new %q: want error, warning or info", s))
		}
	}
	if c.String("platform") == "all" {
		return df, withCode(ExitInput, fmt.Errorf("diff: --platform all: compare one platform at a time"))
	}
	df.output = c.String("output")
	return df, nil
}

func runDiff(c *cli.Context) error {
	df, err := readDiffFlags(c)
	if err != nil {
		return err
	}
	g, _, err := newGate(c, lintFlags{})
	if err != nil {
		return err
	}
	var sides [2]diff.Image
	for i, arg := range c.Args().Slice() {
		if sides[i], err = diffSide(c, g, arg); err != nil {
			return err
		}
	}
	r := diff.Compare(sides[0], sides[1])
	r.Judge(df.gates)

	write := func(w io.Writer) error {
		return diff.Write(w, df.format, r, diff.Options{Color: df.format == diff.Text && df.output == "-" && useColor(c.App.Writer)})
	}
	if df.html {
		write = func(w io.Writer) error {
			return htmlreport.WriteDiff(w, sides[0], sides[1], r, htmlreport.Options{Version: version})
		}
	}
	if err := writeReport(c, df.output, write); err != nil {
		return err
	}
	if !toStdout(df.output) && r.Verdict != nil && len(r.Verdict.Checks) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "layerlint: diff: %s (report: %s)\n", r.Verdict.Result, df.output)
	}
	if r.Failed() {
		return withCode(ExitFailed, errSilent)
	}
	return nil
}

// diffSide opens, analyzes and lints one image of a diff.
func diffSide(c *cli.Context, g *gate.Gate, arg string) (diff.Image, error) {
	src, err := source.OpenContext(c.Context, arg, sourceOptions(c, c.String("platform")))
	if err != nil {
		return diff.Image{}, err // source errors name the path already
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	if len(imgs) != 1 {
		return diff.Image{}, withCode(ExitInput, fmt.Errorf("diff: %s holds %d images: choose one with --platform", arg, len(imgs)))
	}
	facts, err := lintFacts(c, src, imgs[0], arg, g.RuleOptions())
	if err != nil {
		return diff.Image{}, err
	}
	return diff.Image{Analysis: facts.Analysis, Lint: g.EvaluateFacts(facts)}, nil
}
