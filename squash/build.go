package squash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// LayerResult describes one layer of the output.
type LayerResult struct {
	Group Group
	// Kept: the source blob is used as it was.
	Kept       bool
	Descriptor json.RawMessage
	Digest     v1.Hash
	DiffID     v1.Hash
	MediaType  types.MediaType
	Size       int64
	TarSize    int64
	// ContentBytes are the regular-file bytes of the tar.
	ContentBytes int64
	// Stripped lists the paths that Strip removed in this layer.
	Stripped []string
}

// Totals sum an image's layers.
type Totals struct {
	Layers          int
	ContentBytes    int64
	CompressedBytes int64
	TarBytes        int64
}

// Result is a rewritten image, its blobs in the sink.
type Result struct {
	Source *source.Image
	Plan   *Plan
	Layers []LayerResult
	// Manifest and Config are the new blobs' bytes, already in the sink.
	Manifest, Config []byte
	ManifestDigest   v1.Hash
	ManifestType     types.MediaType
	Before, After    Totals
}

// Descriptor returns the manifest's descriptor with the source's platform.
func (r *Result) Descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: r.ManifestType, Digest: r.ManifestDigest, Size: int64(len(r.Manifest)), Platform: r.Source.Platform}
}

// build writes the layers the plan asks for, then the config and manifest,
// into sink. The analysis must be complete (every layer analyzed).
func build(ctx context.Context, a *analyze.Analysis, plan *Plan, opts Options, sink blobSink, pool *compressPool, verify bool) (*Result, error) {
	img := a.Image
	b := &builder{a: a, plan: plan, opts: opts, sink: sink, pool: pool, verify: verify, fam: familyOf(img.ManifestMediaType)}
	res := &Result{Source: img, Plan: plan, ManifestType: img.ManifestMediaType}
	b.res = res
	b.convert = opts.ociTypes && b.fam == familyDocker
	if b.convert {
		b.fam, res.ManifestType = familyOCI, types.OCIManifestSchema1
	}
	res.Before = beforeTotals(a)
	var err error
	if b.rawLayers, err = manifestLayers(img.RawManifest); err != nil {
		return nil, err
	}
	jobs, err := b.layers()
	if err != nil {
		return nil, err
	}
	if err := b.write(ctx, jobs); err != nil {
		return nil, err
	}
	// Kept layers are copied after the new ones succeed: nothing is
	// written for an image that fails.
	for i := range res.Layers {
		lr := &res.Layers[i]
		if lr.Kept && !lr.Group.Rewrite {
			if err := copyBlob(sink, img.Layers[lr.Group.Layers[0]], verify); err != nil {
				return nil, err
			}
		}
		res.After.Layers++
		res.After.CompressedBytes += lr.Size
		res.After.ContentBytes += lr.ContentBytes
		res.After.TarBytes += lr.TarSize
	}
	if err := b.metadata(); err != nil {
		return nil, err
	}
	return res, nil
}

// builder is one run of build.
type builder struct {
	a         *analyze.Analysis
	plan      *Plan
	opts      Options
	sink      blobSink
	pool      *compressPool
	verify    bool
	fam       family
	convert   bool // Docker media types become OCI ones
	rawLayers []json.RawMessage
	res       *Result
}

// job is one layer to write: a rewritten group (spec) or a kept layer to
// recompress (keep).
type job struct {
	i    int
	spec *layerSpec
	comp Compression
	keep *source.Layer
}

func beforeTotals(a *analyze.Analysis) Totals {
	var t Totals
	for i, l := range a.Image.Layers {
		t.Layers++
		t.CompressedBytes += l.Size
		if cs := a.Changesets[i]; cs != nil {
			t.ContentBytes += cs.ContentBytes
		}
		if i < len(a.Report.Layers) {
			t.TarBytes += a.Report.Layers[i].TarSize
		}
	}
	return t
}

// layers fills the result's layers and returns the jobs that write them.
// One origin model is applied group by group: before a rewritten group its
// view is the group's lower view, after it the upper one.
func (b *builder) layers() ([]job, error) {
	model := overlay.NewModel()
	var jobs []job
	b.res.Layers = make([]LayerResult, len(b.plan.Groups))
	for gi, g := range b.plan.Groups {
		lr := &b.res.Layers[gi]
		lr.Group = g
		if g.Rewrite {
			j, err := b.rewritten(model, gi, g)
			if err != nil {
				return nil, err
			}
			lr.Stripped = j.spec.stripped
			jobs = append(jobs, j)
			continue
		}
		j, recompress, err := b.kept(lr, gi, g)
		if err != nil {
			return nil, err
		}
		if recompress {
			jobs = append(jobs, j)
		}
		for _, li := range g.Layers {
			if cs := b.a.Changesets[li]; cs != nil {
				model.Apply(cs)
			} else {
				model.Apply(&overlay.Changeset{})
			}
		}
	}
	return jobs, nil
}

// kept describes a group that is not rewritten: its layer is kept as it
// is, or recompressed when asked to.
func (b *builder) kept(lr *LayerResult, gi int, g Group) (j job, recompress bool, err error) {
	l := b.a.Image.Layers[g.Layers[0]]
	lr.DiffID, lr.ContentBytes = l.DiffID, changesetBytes(b.a, g.Layers[0])
	if g.Layers[0] < len(b.a.Report.Layers) {
		lr.TarSize = b.a.Report.Layers[g.Layers[0]].TarSize
	}
	target := b.opts.Compression
	if b.opts.ForceCompression && target != CompressionSource && target != compressionOf(l.MediaType) && !l.Missing {
		return job{i: gi, comp: target, keep: l}, true, nil
	}
	lr.Kept, lr.Digest, lr.MediaType, lr.Size = true, l.Digest, l.MediaType, l.Size
	lr.Descriptor = b.rawLayers[g.Layers[0]]
	if b.convert {
		if lr.MediaType, lr.Descriptor, err = ociLayerDescriptor(lr.MediaType, lr.Descriptor); err != nil {
			return job{}, false, fmt.Errorf("layer %d: %w", g.Layers[0], err)
		}
	}
	return job{}, false, nil
}

// rewritten plans the merged layer of group g and applies the group to
// model.
func (b *builder) rewritten(model *overlay.Model, gi int, g Group) (job, error) {
	lower := model.Files()
	from := model.Layers()
	for _, li := range g.Layers {
		model.Apply(b.a.Changesets[li])
	}
	var st func(string) bool
	if gi == len(b.plan.Groups)-1 && b.plan.strips() {
		st = stripMatcher(b.plan.Strip, b.plan.StripPaths)
	}
	spec, err := planLayer(lower, model.Files(), from, st)
	if err != nil {
		return job{}, fmt.Errorf("planning layer %s: %w", g, err)
	}
	comp := b.opts.Compression
	if comp == CompressionSource {
		comp = compressionOf(b.a.Image.Layers[g.Layers[len(g.Layers)-1]].MediaType)
		if comp == CompressionNone {
			comp = CompressionGzip
		}
	}
	return job{i: gi, spec: spec, comp: comp}, nil
}

// write runs the jobs: layers are independent once planned, so they are
// written in parallel.
func (b *builder) write(ctx context.Context, jobs []job) error {
	topts := tarOptions{clamp: b.opts.RewriteTimestamp, verify: b.verify, want: fileHashIndex(b.a)}
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for ji, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			b.progress(WriteProgress{Layer: j.i, Jobs: len(jobs)})
			errs[ji] = b.writeJob(ctx, j, topts)
			b.progress(WriteProgress{Layer: j.i, Jobs: len(jobs), Done: true, Err: errs[ji]})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// progress tells Options.Progress, when set.
func (b *builder) progress(p WriteProgress) {
	if b.opts.Progress != nil {
		b.opts.Progress(p)
	}
}

func (b *builder) writeJob(ctx context.Context, j job, topts tarOptions) error {
	lr := &b.res.Layers[j.i]
	mt, err := layerMediaType(b.fam, j.comp)
	if err != nil {
		return err
	}
	if j.keep != nil {
		err = recompress(ctx, b.sink, b.pool, lr, j.keep, j.comp, b.opts.Level, b.verify)
	} else {
		err = writeMerged(ctx, b.sink, b.pool, lr, j.spec, b.a.Image.Layers, j.comp, b.opts.Level, topts)
	}
	lr.MediaType = mt
	if err != nil {
		return err
	}
	lr.Descriptor, err = json.Marshal(v1.Descriptor{MediaType: mt, Digest: lr.Digest, Size: lr.Size})
	return err
}

// metadata writes the config and the manifest.
func (b *builder) metadata() error {
	img, res := b.a.Image, b.res
	var err error
	if unchanged(b.plan, res.Layers, b.convert) {
		// Nothing to change: the source's own bytes, so the digests stay
		// (a re-encoding would change them for nothing).
		res.Config, res.Manifest = img.RawConfig, img.RawManifest
		if _, err := putBlob(b.sink, res.Config); err != nil {
			return fmt.Errorf("writing config: %w", err)
		}
		if res.ManifestDigest, err = putBlob(b.sink, res.Manifest); err != nil {
			return fmt.Errorf("writing manifest: %w", err)
		}
		return nil
	}
	if res.Config, err = rewriteConfig(img, res.Layers, b.plan); err != nil {
		return err
	}
	cfgDigest, err := putBlob(b.sink, res.Config)
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	if res.Manifest, err = rewriteManifest(img.RawManifest, cfgDigest, int64(len(res.Config)), res.Layers, b.convert); err != nil {
		return err
	}
	if res.ManifestDigest, err = putBlob(b.sink, res.Manifest); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return nil
}

func changesetBytes(a *analyze.Analysis, i int) int64 {
	if cs := a.Changesets[i]; cs != nil {
		return cs.ContentBytes
	}
	return 0
}

// fileHashIndex returns the content hash the analysis computed for the
// entry an origin names.
func fileHashIndex(a *analyze.Analysis) func(overlay.Origin) (overlay.Hash, bool) {
	var mu sync.Mutex
	idx := map[int]map[int]overlay.Hash{} // layer → Entry.Index → hash
	return func(o overlay.Origin) (overlay.Hash, bool) {
		if o.Layer < 0 || o.Layer >= len(a.Changesets) || a.Changesets[o.Layer] == nil {
			return overlay.Hash{}, false
		}
		mu.Lock()
		hs, ok := idx[o.Layer]
		if !ok {
			hs = map[int]overlay.Hash{}
			for _, e := range a.Changesets[o.Layer].All() {
				if e.Kind == overlay.EntryFile {
					hs[e.Index] = e.Hash
				}
			}
			idx[o.Layer] = hs
		}
		mu.Unlock()
		h, ok := hs[o.Entry]
		return h, ok
	}
}
