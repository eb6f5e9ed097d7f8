package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/userfile"
)

// batchFlags are analyze's flags for many images in one run.
func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "refs", Usage: "analyze every IMAGE listed in `FILE` (one a line, # comments; - for standard input), writing JSON Lines"},
		&cli.IntFlag{Name: "jobs", Value: 2, Usage: "how many images a batch analyzes at once (each also reads its layers in parallel)"},
		&cli.StringFlag{Name: "shard", Usage: "take only share `I/N` of the batch (0 <= I < N): the images whose reference hashes to I modulo N"},
	}
}

// batchLine is one line of analyze's JSON Lines output: the report of one
// image, or why it has none.
type batchLine struct {
	Reference string          `json:"reference"`
	Report    *analyze.Report `json:"report,omitempty"`
	// DecodedLayers counts the layer blobs this run decompressed for the
	// image; the others came from the layer cache.
	DecodedLayers *int   `json:"decodedLayers,omitempty"`
	Error         string `json:"error,omitempty"`
	ExitCode      int    `json:"exitCode,omitempty"`
}

// batchRefs returns the references of a batch run, and false when the run
// is not one (a single IMAGE argument and no --refs).
func batchRefs(c *cli.Context) ([]string, bool, error) {
	refs := c.Args().Slice()
	if f := c.String("refs"); f != "" {
		listed, err := readRefs(c, f)
		if err != nil {
			return nil, true, withCode(ExitInput, err)
		}
		refs = append(refs, listed...)
	} else if len(refs) < 2 && !c.IsSet("shard") {
		return nil, false, nil
	}
	if s := c.String("shard"); s != "" {
		i, n, err := parseShard(s)
		if err != nil {
			return nil, true, withCode(ExitInput, err)
		}
		refs = shard(refs, i, n)
	}
	return refs, true, nil
}

func readRefs(c *cli.Context, name string) ([]string, error) {
	var r io.Reader
	if name == "-" {
		r = c.App.Reader
		if r == nil {
			r = os.Stdin
		}
	} else {
		// A file of references is one more file besides the image:
		// never a FIFO or device, never more than the cap.
		b, err := userfile.Read(name, 0)
		if err != nil {
			return nil, fmt.Errorf("--refs: %w", err)
		}
		r = bytes.NewReader(b)
	}
	var refs []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		refs = append(refs, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading --refs %s: %w", name, err)
	}
	return refs, nil
}

// parseShard reads I/N.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 0 <= I < N", s)
	}
	return i, n, nil
}

// shard keeps the references that hash to i modulo n. The share depends on
// the reference alone, not on its position, so adding an image to the list
// moves no other image to another worker.
func shard(refs []string, i, n int) []string {
	var out []string
	for _, r := range refs {
		h := fnv.New64a()
		_, _ = h.Write([]byte(r))             // hash writes never fail
		if h.Sum64()%uint64(n) == uint64(i) { //nolint:gosec // n >= 1, i >= 0
			out = append(out, r)
		}
	}
	return out
}

// runBatch analyzes refs with a bounded pool of workers and writes one
// JSON line per image, in the order of refs, each as soon as it and those
// before it are done. An image that fails gets a line with its error; the
// run goes on, and exits with the code of the first failure in list order.
func runBatch(c *cli.Context, refs []string) error {
	if c.IsSet("format") && c.String("format") != "json" {
		return withCode(ExitInput, errors.New("analyze: many images are reported as JSON Lines: leave --format out or set it to json"))
	}
	if c.Bool("verify") {
		return withCode(ExitInput, errors.New("analyze: --verify mounts one image at a time: not with several images"))
	}
	jobs := max(c.Int("jobs"), 1)
	layerCache(c) // opened once, before the workers share it
	out := make([]chan []byte, len(refs))
	codes := make([]int, len(refs))
	for i := range out {
		out[i] = make(chan []byte, 1)
	}
	sem := make(chan struct{}, jobs)
	bp := startBatchProgress(c.Bool("quiet"), c.App.Writer, c.App.ErrWriter, len(refs))
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, ref := range refs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				var b []byte
				b, codes[i] = batchOne(c, ref, bp)
				bp.imageDone()
				out[i] <- b
			})
		}
	})
	defer bp.close()
	defer wg.Wait()
	for i := range refs {
		if _, err := c.App.Writer.Write(<-out[i]); err != nil {
			return fmt.Errorf("writing the report of %s: %w", refs[i], err)
		}
	}
	wg.Wait()
	for _, code := range codes {
		if code != ExitOK {
			return withCode(code, errSilent)
		}
	}
	return nil
}

// batchOne analyzes every image ref names and returns its JSON lines and
// exit code.
func batchOne(c *cli.Context, ref string, bp *batchProgress) ([]byte, int) {
	var buf bytes.Buffer
	code := ExitOK
	emit := func(l batchLine) {
		var b bytes.Buffer
		if err := escape.WriteJSON(&b, l); err != nil {
			l = batchLine{Reference: l.Reference, Error: err.Error(), ExitCode: ExitInput}
			b.Reset()
			_ = escape.WriteJSON(&b, l) // plain strings: cannot fail
		}
		if err := json.Compact(&buf, b.Bytes()); err != nil {
			buf.Write(bytes.TrimSpace(b.Bytes()))
		}
		buf.WriteByte('\n')
	}
	fail := func(name string, err error) {
		e := exitCode(err)
		if code == ExitOK {
			code = e
		}
		emit(batchLine{Reference: name, Error: err.Error(), ExitCode: e})
	}
	src, err := openImageArg(c, []string{ref})
	if err != nil {
		fail(ref, err)
		return buf.Bytes(), code
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	for _, img := range imgs {
		name := ref
		if len(imgs) > 1 && img.Platform != nil {
			name += " [" + img.Platform.OS + "/" + img.Platform.Architecture + "]"
		}
		opts := analyzeOptions(c, src, img)
		opts.ExactWire = c.Bool("exact-wire")
		opts.DropChangesets = true // a batch emits reports only
		opts.Progress = bp.observe()
		a, err := analyze.Analyze(c.Context, img, opts)
		if err != nil {
			fail(name, fmt.Errorf("analyzing %s: %w", name, err))
			continue
		}
		a.Report.Image.Reference = name
		n := len(a.Decoded)
		emit(batchLine{Reference: name, Report: a.Report, DecodedLayers: &n})
	}
	return buf.Bytes(), code
}
