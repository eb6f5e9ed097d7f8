package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/htmlreport"
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "say where every byte of an image went",
		ArgsUsage: "IMAGE...",
		Description: "Replays the layers through the overlay model and reports, per layer and for the\n" +
			"image, content bytes, wasted bytes by cause, efficiency, the base/user split, dive's\n" +
			"three metrics, and the top wasted paths. With --verify, also mounts the layers with\n" +
			"the kernel's overlayfs (root only) and checks that the model's merged view matches.\n\n" +
			"With several IMAGE arguments or --refs FILE, analyzes them --jobs at a time and writes\n" +
			"JSON Lines, one line per image in list order; --shard I/N takes a stable share of the\n" +
			"list for one of N workers. See docs/scale.md.",
		Flags: append(append(imageFlags(),
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text`, json or html (one self-contained page: layer chart, filesystem map, wasted paths)"},
			&cli.IntFlag{Name: "top", Value: 10, Usage: "how many wasted-path groups to list in text output"},
			&cli.BoolFlag{Name: "exact-wire", Usage: "measure the compressed size of wasted files with each layer's codec (reads those layers twice)"},
			&cli.BoolFlag{Name: "verify", Usage: "compare the model's merged view with a real overlayfs mount (needs root)"},
			&cli.StringFlag{Name: "work", Usage: "work `DIR` for --verify (default: a temporary directory)"},
		), batchFlags()...),
		Action: runAnalyze,
	}
}

func runAnalyze(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" && format != "html" {
		return withCode(ExitInput, fmt.Errorf("analyze: --format %q: want text, json or html", format))
	}
	if refs, batch, err := batchRefs(c); err != nil || batch {
		if err != nil {
			return err
		}
		return runBatch(c, refs)
	}
	src, err := openImage(c)
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	var reports []*analyze.Report
	var pages []htmlreport.Image
	failed := false
	for i, img := range imgs {
		opts := analyzeOptions(c, src, img)
		opts.ExactWire = c.Bool("exact-wire")
		opts.DropChangesets = true // the report and the view are all analyze shows
		a, err := analyzeImage(c, img, referenceName(c, img, len(imgs) > 1), opts)
		if err != nil {
			return fmt.Errorf("analyzing %s: %w", referenceName(c, img, len(imgs) > 1), err)
		}
		a.Report.Image.Reference = referenceName(c, img, len(imgs) > 1)
		reports = append(reports, a.Report)
		pages = append(pages, htmlreport.Image{Report: a.Report, Model: a.Model})
		if format == "text" {
			if i > 0 {
				fmt.Fprintln(c.App.Writer)
			}
			if err := analyze.WriteText(c.App.Writer, a.Report, analyze.TextOptions{Top: c.Int("top"), Color: useColor(c.App.Writer)}); err != nil {
				return err
			}
		}
		if c.Bool("verify") {
			ok, err := verifyWithKernel(c, a)
			if err != nil {
				return err
			}
			failed = failed || !ok
		}
	}
	if err := writeAnalyzeReport(c, format, reports, pages); err != nil {
		return err
	}
	if failed {
		return withCode(ExitFailed, errSilent)
	}
	return nil
}

// writeAnalyzeReport writes the json or html report of every image (the
// text report is written image by image, as each is analyzed).
func writeAnalyzeReport(c *cli.Context, format string, reports []*analyze.Report, pages []htmlreport.Image) error {
	if format == "json" {
		var v any = reports[0]
		if len(reports) > 1 {
			v = reports
		}
		if err := analyze.WriteJSON(c.App.Writer, v); err != nil {
			return err
		}
	}
	if format == "html" {
		if err := htmlreport.Write(c.App.Writer, htmlreport.KindAnalyze, pages, htmlreport.Options{Version: version}); err != nil {
			return err
		}
	}
	return nil
}
