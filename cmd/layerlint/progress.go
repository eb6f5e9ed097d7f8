package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/squash"
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
				byteCounters(),
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

// byteCounters shows a bar's bytes read of its size in the units of the
// reports (textfmt.Bytes: SI, "1.2 MB"), so that the display and the
// report printed after it name a size the same way.
func byteCounters() decor.Decorator {
	return decor.Any(func(s decor.Statistics) string {
		return textfmt.Bytes(s.Current) + " / " + textfmt.Bytes(s.Total)
	}, decor.WCSyncSpace)
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

// batchProgress shows, for a run over many images, how many are done and
// how many blob bytes were read. Images are analyzed in parallel, so there
// is one line for the run rather than one per layer. It is off when
// standard error is not a terminal, with --quiet, and when standard output
// is a terminal too: the JSON lines written as images finish would break
// the display's lines.
type batchProgress struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	read atomic.Int64
}

func startBatchProgress(quiet bool, stdout, stderr io.Writer, images int) *batchProgress {
	if quiet || !isTerminal(stderr) || isTerminal(stdout) {
		return nil
	}
	bp := &batchProgress{p: mpb.New(mpb.WithOutput(stderr), mpb.WithWidth(30))}
	bp.bar = bp.p.AddBar(int64(images),
		mpb.PrependDecorators(
			decor.CountersNoUnit("%d/%d images", decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string {
				return textfmt.Bytes(bp.read.Load()) + " read"
			}, decor.WCSyncSpace),
		),
	)
	return bp
}

// observe is the analyze.Options.Progress of one image of the batch: it
// adds what each of its layers read to the run's count.
func (bp *batchProgress) observe() func(analyze.LayerProgress) {
	if bp == nil {
		return nil
	}
	var mu sync.Mutex
	last := map[int]int64{}
	return func(p analyze.LayerProgress) {
		mu.Lock()
		d := p.Read - last[p.Layer]
		last[p.Layer] = p.Read
		mu.Unlock()
		if d > 0 {
			bp.read.Add(d)
		}
	}
}

// imageDone counts one image (or reference) finished, failed or not.
func (bp *batchProgress) imageDone() {
	if bp != nil {
		bp.bar.Increment()
	}
}

func (bp *batchProgress) close() {
	if bp == nil {
		return
	}
	if !bp.bar.Completed() {
		bp.bar.Abort(false)
	}
	bp.p.Wait()
}

// verifyProgress shows fix re-reading what it wrote. The layers of the
// output are not known before fix has built them, so a line appears for
// each layer when its reading starts.
type verifyProgress struct {
	p    *mpb.Progress
	name string

	mu   sync.Mutex
	bars map[int]*mpb.Bar
}

// startVerifyProgress returns the display for verifying the output called
// name; nil when progress is off.
func startVerifyProgress(c *cli.Context, name string) *verifyProgress {
	if c.Bool("quiet") || !isTerminal(c.App.ErrWriter) {
		return nil
	}
	return &verifyProgress{p: mpb.New(mpb.WithOutput(c.App.ErrWriter), mpb.WithWidth(30)), name: name, bars: map[int]*mpb.Bar{}}
}

// observe is the analyze.Options.Progress of the re-analysis.
func (vp *verifyProgress) observe() func(analyze.LayerProgress) {
	if vp == nil {
		return nil
	}
	return func(p analyze.LayerProgress) {
		vp.mu.Lock()
		b := vp.bars[p.Layer]
		// A start after the layer's bar ended is the next image's layer.
		if b == nil || (b.AbortedOrCompleted() && !p.Done && p.Read == 0) {
			b = vp.p.AddBar(p.Size,
				mpb.PrependDecorators(
					decor.Name(fmt.Sprintf("verify %s %d", progressLabel(vp.name, 40), p.Layer), decor.WCSyncSpaceR),
					byteCounters(),
				),
				mpb.AppendDecorators(decor.OnComplete(decor.Percentage(decor.WC{W: 5}), " done")),
			)
			vp.bars[p.Layer] = b
		}
		vp.mu.Unlock()
		switch {
		case p.Done && p.Err != nil:
			b.Abort(false)
		case p.Done:
			b.SetCurrent(p.Read)
			b.SetTotal(-1, true)
		default:
			b.SetCurrent(p.Read)
		}
	}
}

func (vp *verifyProgress) close() {
	if vp == nil {
		return
	}
	vp.mu.Lock()
	for _, b := range vp.bars {
		if !b.AbortedOrCompleted() {
			b.Abort(false)
		}
	}
	vp.mu.Unlock()
	vp.p.Wait()
}

// writeProgress shows fix writing the layers it builds: per image, a line
// counting the layers written. How many there are is known only when the
// first one starts, so a line appears then.
type writeProgress struct {
	p    *mpb.Progress
	name string

	mu     sync.Mutex
	bars   map[int]*mpb.Bar
	closed sync.Once
}

// startWriteProgress returns the display for writing the output called
// name; nil when progress is off.
func startWriteProgress(c *cli.Context, name string) *writeProgress {
	if c.Bool("quiet") || !isTerminal(c.App.ErrWriter) {
		return nil
	}
	return &writeProgress{p: mpb.New(mpb.WithOutput(c.App.ErrWriter), mpb.WithWidth(30)), name: name, bars: map[int]*mpb.Bar{}}
}

// observe is the squash.Options.Progress of the display (nil when off).
func (wp *writeProgress) observe() func(squash.WriteProgress) {
	if wp == nil {
		return nil
	}
	return func(p squash.WriteProgress) {
		wp.mu.Lock()
		defer wp.mu.Unlock()
		b := wp.bars[p.Image]
		if b == nil {
			b = wp.p.AddBar(int64(p.Jobs),
				mpb.PrependDecorators(
					decor.Name(fmt.Sprintf("write %s %d", progressLabel(wp.name, 40), p.Image), decor.WCSyncSpaceR),
					decor.CountersNoUnit("%d/%d layers", decor.WCSyncSpace),
				),
				mpb.AppendDecorators(decor.OnComplete(decor.Percentage(decor.WC{W: 5}), " done")),
			)
			wp.bars[p.Image] = b
		}
		switch {
		case p.Done && p.Err != nil:
			b.Abort(false)
		case p.Done:
			b.Increment()
		}
	}
}

// close ends the display; later calls do nothing.
func (wp *writeProgress) close() {
	if wp == nil {
		return
	}
	wp.closed.Do(func() {
		wp.mu.Lock()
		for _, b := range wp.bars {
			if !b.AbortedOrCompleted() {
				b.Abort(false)
			}
		}
		wp.mu.Unlock()
		wp.p.Wait()
	})
}
