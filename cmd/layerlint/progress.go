package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/escape"
)

// progress shows, on standard error, one line per layer of the image being
// read (blob bytes read of its size) under a line counting the layers
// done, the way `docker pull` does. It is off (nil, whose methods do
// nothing) unless standard error is a terminal and --quiet is not given,
// so CI logs, pipes and files never see it.
type progress struct {
	p    *mpb.Progress
	all  *mpb.Bar   // layers done
	bars []*mpb.Bar // one per layer
}

// startProgress starts the display for reading the bottom n layers of
// img, called name; nil when it is off. The caller closes it before
// printing anything else.
func startProgress(c *cli.Context, img *source.Image, n int, name string) *progress {
	if c.Bool("quiet") || !isTerminal(c.App.ErrWriter) {
		return nil
	}
	pr := &progress{p: mpb.New(mpb.WithOutput(c.App.ErrWriter), mpb.WithWidth(30))}
	pr.all = pr.p.AddBar(int64(n),
		mpb.PrependDecorators(
			decor.Name(progressLabel(name, 48), decor.WCSyncSpaceR),
			decor.CountersNoUnit("%d/%d layers", decor.WCSyncSpace),
		),
		mpb.BarFillerClearOnComplete(),
	)
	history := analyze.LayerHistory(img)
	for i, l := range img.Layers[:n] {
		label := history[i]
		if label == "" {
			label = l.Digest.String()
		}
		pr.bars = append(pr.bars, pr.p.AddBar(l.Size,
			mpb.PrependDecorators(
				decor.Name(fmt.Sprintf("%3d %s", i, progressLabel(label, 48)), decor.WCSyncSpaceR),
				decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WCSyncSpace),
			),
			mpb.AppendDecorators(decor.OnComplete(decor.Percentage(decor.WC{W: 5}), " done")),
		))
	}
	return pr
}

// observe is the analyze.Options.Progress of the display (nil when off).
func (pr *progress) observe() func(analyze.LayerProgress) {
	if pr == nil {
		return nil
	}
	return func(p analyze.LayerProgress) {
		if p.Layer < 0 || p.Layer >= len(pr.bars) {
			return
		}
		b := pr.bars[p.Layer]
		switch {
		case p.Done && p.Err != nil:
			b.Abort(false)
		case p.Done:
			b.SetCurrent(p.Read)
			b.SetTotal(-1, true) // complete at what was read
			pr.all.Increment()
		default:
			b.SetCurrent(p.Read)
		}
	}
}

// close ends the display: bars a failure left unfinished are stopped (Wait
// would wait for them), the rest is drawn once more and the cursor is left
// below it.
func (pr *progress) close() {
	if pr == nil {
		return
	}
	for _, b := range append(pr.bars, pr.all) {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	pr.p.Wait()
}

// progressLabel makes image text fit for the terminal: whitespace runs
// folded to one space, then control and format characters and invalid
// UTF-8 escaped (escape.Text), cut to max runes.
func progressLabel(s string, max int) string {
	s = escape.Text(strings.Join(strings.Fields(s), " "))
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
