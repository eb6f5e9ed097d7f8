// Package analyze replays an image's layers through the overlay model and
// says where every byte went: per layer, per image, per wasted path, and by
// dive's formulas beside layerlint's own.
//
// Each layer blob is read once. Layers are decoded, digest-checked and
// parsed in parallel; the model applies them in order as they arrive.
// Nothing is unpacked to disk.
package analyze

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/layerlint/layerlint/analyze/dive"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// Default caps on what one image may make layerlint read. They stop
// decompression bombs; each can be raised in Options.
const (
	DefaultMaxLayerBytes int64 = 64 << 30  // uncompressed content per layer
	DefaultMaxImageBytes int64 = 256 << 30 // uncompressed content per image
	// About 550 MB of peak memory for analyze at about 270 bytes a path,
	// about 1.8 GB for lint at about 900 (see the cost at the defaults in
	// docs/security.md, .ci/bench-memory).
	DefaultMaxLayerEntries = 2_000_000
	// A path longer than Linux's PATH_MAX, or deeper than any real tree,
	// only makes every listing of the view cost the square of its depth.
	DefaultMaxPathBytes = 4096
	DefaultMaxPathDepth = 1024
)

// ErrCapExceeded reports that an image passed one of the caps of Options.
// It is source's sentinel, so that one errors.Is covers the caps of both
// (source caps the save stream of an engine).
var ErrCapExceeded = source.ErrCapExceeded

// BaseFrom says where the size of the base image comes from.
type BaseFrom uint8

// Sources of the base size, as the report names them (BaseInfo.Source).
const (
	// BaseDefault: nobody said; the base is DefaultBaseLayers.
	BaseDefault BaseFrom = iota
	// BaseOption: the caller chose Options.BaseLayers.
	BaseOption
	// BaseAnnotation: the caller read Options.BaseLayers from the image's
	// base annotations (see BaseLayersFromAnnotations).
	BaseAnnotation
)

// DefaultBaseLayers is the base of an image when nobody says: its bottom
// layer.
const DefaultBaseLayers = 1

// Limit names one of the caps of Options.
type Limit uint8

// Caps.
const (
	// LimitLayerBytes is Options.MaxLayerBytes.
	LimitLayerBytes Limit = iota + 1
	// LimitImageBytes is Options.MaxImageBytes.
	LimitImageBytes
	// LimitLayerEntries is Options.MaxLayerEntries.
	LimitLayerEntries
	// LimitPath is Options.MaxPathBytes or Options.MaxPathDepth.
	LimitPath
)

// CapError is an image passing a cap of Options; errors.Is(err,
// ErrCapExceeded) holds for it. Limit says which cap, so that a front end
// can say how to raise it (the library names no command-line flag).
type CapError struct {
	Limit Limit
	Err   error
}

func (e *CapError) Error() string { return e.Err.Error() }

// Unwrap returns the error that says what passed the cap.
func (e *CapError) Unwrap() error { return e.Err }

// Options tune Analyze. The zero value is usable; it does not verify
// digests (the CLI does unless told not to).
type Options struct {
	// Verify checks every layer's blob digest and diff_id while it streams.
	Verify bool
	// BaseFrom says who tells how many bottom layers came from the base
	// image. Unset (BaseDefault), the base is DefaultBaseLayers and
	// BaseLayers is not read; set, BaseLayers is the count, 0 included.
	BaseFrom   BaseFrom
	BaseLayers int
	// Parallel bounds how many layers are decoded at once (0: GOMAXPROCS).
	Parallel int
	// Layers, when positive, analyzes only the bottom Layers layers: the
	// view "as of" layer Layers-1.
	Layers int
	// DropChangesets keeps no changeset in the Analysis (Changesets is nil
	// for every layer): each one goes while the model applies it, so that
	// the model and the whole changesets are never in memory together.
	// Rules and squash read the changesets; a caller that only reports on
	// the image and its merged view sets it.
	DropChangesets bool
	// ExactWire re-reads the layers that hold waste and compresses the
	// wasted files with each layer's codec to measure their download cost.
	ExactWire bool
	// Caps; zero means the package defaults.
	MaxLayerBytes   int64
	MaxImageBytes   int64
	MaxLayerEntries int
	MaxPathBytes    int
	MaxPathDepth    int
	// Inspect, when set, is called once per layer before it is read; the
	// function it returns (nil for none) sees every regular file of that
	// layer and may return a writer that receives the file's bytes. Rules
	// use it to scan content in the same single pass.
	// A layer read with Inspect set is never served by Cache.
	Inspect func(layer int) func(path string, hdr *tar.Header) io.Writer
	// Scan, when set, sees the content of every layer in the same single
	// read, as Inspect does, and what it found in a layer travels with the
	// layer in Cache: a cached layer whose entry holds this scan's results
	// is served without decoding, the scan taking them back instead.
	Scan Scanner
	// Progress, when set, is told how far the reading of each layer got:
	// once when it starts, every ProgressStep blob bytes, and once when it
	// ends. It is called from the goroutines that read layers, so it must
	// be safe for concurrent use and quick. The library never prints;
	// showing progress is the caller's business.
	Progress func(LayerProgress)
	// Cache, when set, keeps each analyzed layer so that the next analysis
	// of the same blob does not decode it (see docs/scale.md for what a
	// cached layer serves and when the blob is still read).
	Cache LayerCache
	// OnDecode, when set, is called (from the layer's goroutine) after a
	// layer blob was decompressed and parsed; tests and the CLI's debug
	// output count decodes with it.
	OnDecode func(l *source.Layer)
}

// LayerCache keeps analyzed layers. Get returns a layer read before; with
// verified set, only one whose blob digest and diff_id were both checked
// when it was read. Put records a layer just read. Implementations must be
// safe for concurrent use and must never fail an analysis: a cache that
// cannot serve misses.
type LayerCache interface {
	Get(ctx context.Context, l *source.Layer, verified bool) (*CachedLayer, bool)
	Put(ctx context.Context, l *source.Layer, e *CachedLayer)
}

// CachedLayer is what a LayerCache keeps of one layer.
type CachedLayer struct {
	// Verified says the blob digest and the diff_id were both checked
	// while the changeset was read.
	Verified  bool
	Stats     source.Stats
	Changeset *overlay.Changeset
	// ScanID names the Scanner whose results of this layer Scan holds
	// ("" and nil when the layer was read without one).
	ScanID string
	Scan   []byte
}

// Scanner is a content scan made in the single read of each layer whose
// per-layer results a LayerCache keeps (Options.Scan); rules.ContentScan
// is one. Its methods may be called from several goroutines at once, for
// different layers.
type Scanner interface {
	// ScanID names the scan and its version: results kept under another
	// ID are never loaded. It changes whenever the same layer could give
	// other results.
	ScanID() string
	// Inspect is called once per layer before it is read, as
	// Options.Inspect is.
	Inspect(layer int) func(path string, hdr *tar.Header) io.Writer
	// SaveLayer returns what the scan found in layer, once the layer was
	// read whole, in a form LoadLayer takes back.
	SaveLayer(layer int) []byte
	// LoadLayer takes back what SaveLayer returned for a layer of the same
	// blob, read from a cache (so untrusted when the cache is shared),
	// with that layer's changeset. It records nothing when it fails: the
	// layer is then decoded and scanned again.
	LoadLayer(layer int, cs *overlay.Changeset, data []byte) error
}

// LayerLocker is an optional interface of a LayerCache shared by several
// processes: Lock is taken before decoding a layer that missed, so that
// one process decodes it while the others wait for its entry. It returns
// the function that releases the lock and whether a lock was taken (or
// waited for); a cache that cannot lock returns a no-op release and false.
type LayerLocker interface {
	Lock(ctx context.Context, l *source.Layer) (release func(), locked bool)
}

// LayerProgress is one report on the reading of a layer.
type LayerProgress struct {
	// Layer is the layer's index in the image, from 0 at the bottom.
	Layer int
	// Read counts the blob bytes read so far (compressed, as stored);
	// Size is the blob size the descriptor declares.
	Read, Size int64
	// Done is set on the last report of the layer; Err then says whether
	// reading it failed. A layer whose blob is absent (foreign) is reported
	// done at once.
	Done bool
	Err  error
}

// ProgressStep is how many blob bytes a layer reads between two reports.
const ProgressStep = 256 << 10

// Analysis is the full result: the report plus the facts it was computed
// from, for rules and tools that need more than the report.
type Analysis struct {
	Report *Report
	Image  *source.Image
	// Model is the merged view after the last layer analyzed.
	Model *overlay.Model
	// Changesets holds each layer's entries (nil for a layer not analyzed,
	// and for every layer with Options.DropChangesets).
	Changesets []*overlay.Changeset
	// Stats holds what reading each layer measured, its compression as
	// the blob's bytes revealed it above all (zero for a layer not
	// analyzed). The report shows the same facts as text.
	Stats []source.Stats
	// Dive holds dive's metrics with its per-path detail.
	Dive dive.Metrics
	// Decoded lists the layers whose blobs were decompressed and parsed;
	// the others were served by Options.Cache (or were not analyzed).
	Decoded []int
}

type layerResult struct {
	cs      *overlay.Changeset
	stats   source.Stats
	decoded bool
	err     error
}

// Analyze reads img and reports on it.
func Analyze(ctx context.Context, img *source.Image, opts Options) (*Analysis, error) {
	opts = withDefaults(opts)
	layers := img.Layers
	if opts.Layers > 0 {
		if opts.Layers > len(layers) {
			return nil, fmt.Errorf("layer %d: the image has layers 0 to %d: %w", opts.Layers-1, len(layers)-1, ErrLayerRange)
		}
		layers = layers[:opts.Layers]
	}
	results := make([]chan layerResult, len(layers))
	for i := range results {
		results[i] = make(chan layerResult, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Parallel)
	wg.Go(func() {
		for i, l := range layers {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] <- layerResult{err: ctx.Err()}
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				results[i] <- readLayer(ctx, l, opts)
			})
		}
	})
	defer wg.Wait()

	a := &Analysis{Image: img, Model: overlay.NewModel(), Changesets: make([]*overlay.Changeset, len(layers)), Stats: make([]source.Stats, len(layers))}
	b := newBuilder(img, opts)
	dc := dive.NewCalculatorFor(len(layers))
	var imageBytes int64
	for i, l := range layers {
		r := <-results[i]
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		if r.cs == nil { // not analyzed (missing foreign blob)
			b.missingLayer(l)
			a.Model.Apply(&overlay.Changeset{})
			dc.AddLayer(&overlay.Changeset{})
			continue
		}
		imageBytes += r.cs.ContentBytes
		if imageBytes > opts.MaxImageBytes {
			cancel()
			return nil, &CapError{Limit: LimitImageBytes, Err: fmt.Errorf("layer %d (%s): image content passes %d bytes: %w", i, l.Digest, opts.MaxImageBytes, ErrCapExceeded)}
		}
		a.Stats[i] = r.stats
		if r.decoded {
			a.Decoded = append(a.Decoded, i)
		}
		// dive first: its tree of the last layer is gone before the
		// model grows, so the two never peak together.
		dc.AddLayer(r.cs)
		b.layer(l, r.cs, r.stats)
		if opts.DropChangesets {
			b.applied(a.Model.Consume(r.cs))
		} else {
			a.Changesets[i] = r.cs
			b.applied(a.Model.Apply(r.cs))
		}
	}
	a.Dive = dc.Result()
	a.Report = b.finish(a.Model, a.Dive)
	if opts.ExactWire {
		if err := measureWire(ctx, a, opts); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// ErrLayerRange reports a layer index outside the image.
var ErrLayerRange = errors.New("no such layer")

func withDefaults(o Options) Options {
	if o.Parallel <= 0 {
		o.Parallel = runtime.GOMAXPROCS(0)
	}
	if o.MaxLayerBytes <= 0 {
		o.MaxLayerBytes = DefaultMaxLayerBytes
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = DefaultMaxImageBytes
	}
	if o.MaxLayerEntries <= 0 {
		o.MaxLayerEntries = DefaultMaxLayerEntries
	}
	if o.MaxPathBytes <= 0 {
		o.MaxPathBytes = DefaultMaxPathBytes
	}
	if o.MaxPathDepth <= 0 {
		o.MaxPathDepth = DefaultMaxPathDepth
	}
	return o
}
