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
	fam := familyOf(img.ManifestMediaType)
	res := &Result{Source: img, Plan: plan, ManifestType: img.ManifestMediaType}
	convert := opts.ociTypes && fam == familyDocker
	if convert {
		fam, res.ManifestType = familyOCI, types.OCIManifestSchema1
	}
	for i, l := range img.Layers {
		res.Before.Layers++
		res.Before.CompressedBytes += l.Size
		if cs := a.Changesets[i]; cs != nil {
			res.Before.ContentBytes += cs.ContentBytes
		}
		if i < len(a.Report.Layers) {
			res.Before.TarBytes += a.Report.Layers[i].TarSize
		}
	}
	rawLayers, err := manifestLayers(img.RawManifest)
	if err != nil {
		return nil, err
	}
	// One origin model, applied group by group: before a rewritten group
	// its view is the group's lower view, after it the upper one.
	model := overlay.NewModel()
	strip := stripMatcher(plan.Strip, plan.StripPaths)
	type job struct {
		i    int
		spec *layerSpec
		comp Compression
		keep *source.Layer // a kept layer to copy or recompress
	}
	var jobs []job
	res.Layers = make([]LayerResult, len(plan.Groups))
	for gi, g := range plan.Groups {
		lr := LayerResult{Group: g}
		if !g.Rewrite {
			l := img.Layers[g.Layers[0]]
			lr.DiffID, lr.ContentBytes = l.DiffID, changesetBytes(a, g.Layers[0])
			if g.Layers[0] < len(a.Report.Layers) {
				lr.TarSize = a.Report.Layers[g.Layers[0]].TarSize
			}
			target := opts.Compression
			if !opts.ForceCompression || target == CompressionSource || target == compressionOf(l.MediaType) || l.Missing {
				lr.Kept, lr.Digest, lr.MediaType, lr.Size = true, l.Digest, l.MediaType, l.Size
				lr.Descriptor = rawLayers[g.Layers[0]]
				if convert {
					if lr.MediaType, lr.Descriptor, err = ociLayerDescriptor(lr.MediaType, lr.Descriptor); err != nil {
						return nil, fmt.Errorf("layer %d: %w", g.Layers[0], err)
					}
				}
			} else {
				jobs = append(jobs, job{i: gi, comp: target, keep: l})
			}
		} else {
			lower := model.Files()
			from := model.Layers()
			for _, li := range g.Layers {
				model.Apply(a.Changesets[li])
			}
			var st func(string) bool
			if gi == len(plan.Groups)-1 && plan.strips() {
				st = strip
			}
			spec, err := planLayer(lower, model.Files(), from, st)
			if err != nil {
				return nil, fmt.Errorf("planning layer %s: %w", g, err)
			}
			lr.Stripped = spec.stripped
			comp := opts.Compression
			if comp == CompressionSource {
				comp = compressionOf(img.Layers[g.Layers[len(g.Layers)-1]].MediaType)
				if comp == CompressionNone {
					comp = CompressionGzip
				}
			}
			jobs = append(jobs, job{i: gi, spec: spec, comp: comp})
		}
		res.Layers[gi] = lr
		if !g.Rewrite {
			for _, li := range g.Layers {
				if cs := a.Changesets[li]; cs != nil {
					model.Apply(cs)
				} else {
					model.Apply(&overlay.Changeset{})
				}
			}
		}
	}

	fileHashes := fileHashIndex(a)
	topts := tarOptions{clamp: opts.RewriteTimestamp, verify: verify, want: fileHashes}

	// Layers are independent once planned: write them in parallel.
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for ji, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			lr := &res.Layers[j.i]
			mt, err := layerMediaType(fam, j.comp)
			if err != nil {
				errs[ji] = err
				return
			}
			if j.keep != nil {
				errs[ji] = recompress(ctx, sink, pool, lr, j.keep, j.comp, opts.Level, verify)
			} else {
				errs[ji] = writeMerged(ctx, sink, pool, lr, j.spec, img.Layers, j.comp, opts.Level, topts)
			}
			lr.MediaType = mt
			if errs[ji] == nil {
				lr.Descriptor, errs[ji] = json.Marshal(v1.Descriptor{MediaType: mt, Digest: lr.Digest, Size: lr.Size})
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
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
	if unchanged(plan, res.Layers, convert) {
		// Nothing to change: the source's own bytes, so the digests stay
		// (a re-encoding would change them for nothing).
		res.Config, res.Manifest = img.RawConfig, img.RawManifest
		if _, err := putBlob(sink, res.Config); err != nil {
			return nil, fmt.Errorf("writing config: %w", err)
		}
		if res.ManifestDigest, err = putBlob(sink, res.Manifest); err != nil {
			return nil, fmt.Errorf("writing manifest: %w", err)
		}
		return res, nil
	}
	if res.Config, err = rewriteConfig(img, res.Layers, plan); err != nil {
		return nil, err
	}
	cfgDigest, err := putBlob(sink, res.Config)
	if err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}
	if res.Manifest, err = rewriteManifest(img.RawManifest, cfgDigest, int64(len(res.Config)), res.Layers, convert); err != nil {
		return nil, err
	}
	if res.ManifestDigest, err = putBlob(sink, res.Manifest); err != nil {
		return nil, fmt.Errorf("writing manifest: %w", err)
	}
	return res, nil
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
			for _, e := range a.Changesets[o.Layer].Entries {
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
