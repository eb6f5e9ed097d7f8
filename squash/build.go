package squash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/textfmt"
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

// writeMerged writes a rewritten layer.
func writeMerged(ctx context.Context, sink blobSink, pool *compressPool, lr *LayerResult, spec *layerSpec, layers []*source.Layer, c Compression, level int, topts tarOptions) (err error) {
	bw, err := sink.Create()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, bw.Abort())
		}
	}()
	p, err := newPipeline(bw, c, level, pool)
	if err != nil {
		return err
	}
	if lr.ContentBytes, err = writeTar(ctx, p, spec, layers, topts); err != nil {
		return fmt.Errorf("writing layer %s: %w", lr.Group, err)
	}
	if lr.DiffID, lr.TarSize, lr.Digest, lr.Size, err = p.finish(); err != nil {
		return fmt.Errorf("writing layer %s: %w", lr.Group, err)
	}
	return bw.Commit(lr.Digest)
}

// recompress re-encodes a kept layer; its diff_id does not change.
func recompress(ctx context.Context, sink blobSink, pool *compressPool, lr *LayerResult, l *source.Layer, c Compression, level int, verify bool) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := l.Open(verify)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw, err := sink.Create()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, bw.Abort())
		}
	}()
	p, err := newPipeline(bw, c, level, pool)
	if err != nil {
		return err
	}
	if _, err := io.Copy(p, s); err != nil {
		return fmt.Errorf("recompressing layer %d (%s): %w", l.Index, l.Digest, err)
	}
	var diffID v1.Hash
	if diffID, lr.TarSize, lr.Digest, lr.Size, err = p.finish(); err != nil {
		return fmt.Errorf("recompressing layer %d (%s): %w", l.Index, l.Digest, err)
	}
	if diffID != l.DiffID {
		return fmt.Errorf("recompressing layer %d (%s): diff_id %s, config says %s: %w", l.Index, l.Digest, diffID, l.DiffID, source.ErrDigestMismatch)
	}
	return bw.Commit(lr.Digest)
}

// copyBlob copies a kept layer's blob as it is.
func copyBlob(sink blobSink, l *source.Layer, verify bool) (err error) {
	if l.Missing || sink.Has(l.Digest) {
		return nil
	}
	rc, err := l.OpenBlob(verify)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw, err := sink.Create()
	if err != nil {
		return err
	}
	if _, err := io.Copy(bw, rc); err != nil {
		return errors.Join(fmt.Errorf("copying layer %d (%s): %w", l.Index, l.Digest, err), bw.Abort())
	}
	return bw.Commit(l.Digest)
}

func putBlob(sink blobSink, b []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	if sink.Has(h) {
		return h, nil
	}
	bw, err := sink.Create()
	if err != nil {
		return v1.Hash{}, err
	}
	if _, err := bw.Write(b); err != nil {
		return v1.Hash{}, errors.Join(err, bw.Abort())
	}
	return h, bw.Commit(h)
}

// manifestLayers returns the raw layer descriptors of a manifest, so that
// kept layers keep every field (annotations, URLs, unknown keys).
func manifestLayers(raw []byte) ([]json.RawMessage, error) {
	var m struct {
		Layers []json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return m.Layers, nil
}

// marshal encodes without HTML escaping, so that strings such as "<none>"
// keep their bytes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// rewriteManifest copies the raw manifest and changes only its config
// descriptor's digest and size and its layers.
func rewriteManifest(raw []byte, cfg v1.Hash, cfgSize int64, layers []LayerResult, toOCI bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(m["config"], &c); err != nil {
		return nil, fmt.Errorf("reading manifest config descriptor: %w", err)
	}
	var err error
	if toOCI {
		if m["mediaType"], err = marshal(types.OCIManifestSchema1); err != nil {
			return nil, err
		}
		if c["mediaType"], err = marshal(types.OCIConfigJSON); err != nil {
			return nil, err
		}
	}
	if c["digest"], err = marshal(cfg.String()); err != nil {
		return nil, err
	}
	if c["size"], err = marshal(cfgSize); err != nil {
		return nil, err
	}
	if m["config"], err = marshal(c); err != nil {
		return nil, err
	}
	ls := make([]json.RawMessage, len(layers))
	for i, l := range layers {
		ls[i] = l.Descriptor
	}
	if m["layers"], err = marshal(ls); err != nil {
		return nil, err
	}
	return marshal(m)
}

// rewriteConfig copies the raw config and changes only rootfs.diff_ids
// and history: merged layers' entries stay, marked empty_layer, followed
// by one entry describing the merge. Empty entries (ENV, LABEL…) travel
// with the layer entry that follows them.
func rewriteConfig(img *source.Image, layers []LayerResult, plan *Plan) ([]byte, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(img.RawConfig, &cfg); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", img.ConfigDigest, err)
	}
	var rootfs map[string]json.RawMessage
	if raw, ok := cfg["rootfs"]; ok {
		if err := json.Unmarshal(raw, &rootfs); err != nil {
			return nil, fmt.Errorf("reading config %s rootfs: %w", img.ConfigDigest, err)
		}
	} else {
		rootfs = map[string]json.RawMessage{"type": json.RawMessage(`"layers"`)}
	}
	ids := make([]string, len(layers))
	for i, l := range layers {
		ids[i] = l.DiffID.String()
	}
	var err error
	if rootfs["diff_ids"], err = marshal(ids); err != nil {
		return nil, err
	}
	if cfg["rootfs"], err = marshal(rootfs); err != nil {
		return nil, err
	}
	if raw, ok := cfg["history"]; ok && plan.Changes() {
		h, err := rewriteHistory(raw, len(img.Layers), layers)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", img.ConfigDigest, err)
		}
		cfg["history"] = h
	}
	return marshal(cfg)
}

type historyEntry = map[string]json.RawMessage

func rewriteHistory(raw json.RawMessage, nLayers int, layers []LayerResult) (json.RawMessage, error) {
	var hist []historyEntry
	if err := json.Unmarshal(raw, &hist); err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	// own[i] holds layer i's entry with the empty entries before it.
	own := make([][]historyEntry, nLayers)
	var pending []historyEntry
	li := 0
	for _, h := range hist {
		if isEmptyLayer(h) {
			pending = append(pending, h)
			continue
		}
		if li >= nLayers {
			return nil, fmt.Errorf("history has more layer entries than the %d layers: %w", nLayers, ErrBadPlan)
		}
		own[li] = append(pending, h)
		pending = nil
		li++
	}
	if li != nLayers {
		return nil, fmt.Errorf("history has %d layer entries for %d layers: %w", li, nLayers, ErrBadPlan)
	}
	var out []historyEntry
	for _, l := range layers {
		if len(l.Group.Layers) == 1 {
			out = append(out, own[l.Group.Layers[0]]...)
			continue
		}
		var latest time.Time
		var by []string
		for _, src := range l.Group.Layers {
			for _, h := range own[src] {
				if !isEmptyLayer(h) {
					var t time.Time
					if err := json.Unmarshal(h["created"], &t); err == nil && t.After(latest) {
						latest = t
					}
					var cb string
					_ = json.Unmarshal(h["created_by"], &cb) // a missing created_by reads as ""
					by = append(by, cb)
					h = cloneEntry(h)
					h["empty_layer"] = json.RawMessage("true")
				}
				out = append(out, h)
			}
		}
		e := historyEntry{}
		var err error
		if !latest.IsZero() {
			if e["created"], err = marshal(latest.UTC()); err != nil {
				return nil, err
			}
		}
		if e["created_by"], err = marshal(fmt.Sprintf("layerlint fix: squashed layers %s", textfmt.JoinInts(l.Group.Layers))); err != nil {
			return nil, err
		}
		if e["comment"], err = marshal("merged: " + strings.Join(by, " && ")); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	out = append(out, pending...)
	return marshal(out)
}

func isEmptyLayer(h historyEntry) bool {
	var b bool
	if raw, ok := h["empty_layer"]; ok {
		_ = json.Unmarshal(raw, &b) // anything but true is false
	}
	return b
}

func cloneEntry(h historyEntry) historyEntry {
	c := make(historyEntry, len(h)+1)
	for k, v := range h {
		c[k] = v
	}
	return c
}

// unchanged reports a build that changes nothing: every layer kept as it
// was, in its place, and no media type converted.
func unchanged(plan *Plan, layers []LayerResult, converted bool) bool {
	if converted || plan.Changes() {
		return false
	}
	for _, l := range layers {
		if !l.Kept {
			return false
		}
	}
	return true
}

// ociLayerDescriptor gives a kept Docker layer its OCI media type, in its
// raw descriptor too (the other fields stay as they were).
func ociLayerDescriptor(mt types.MediaType, raw json.RawMessage) (types.MediaType, json.RawMessage, error) {
	oci := map[types.MediaType]types.MediaType{
		types.DockerLayer:             types.OCILayer,
		types.DockerUncompressedLayer: types.OCIUncompressedLayer,
		types.DockerForeignLayer:      types.OCIRestrictedLayer,
	}[mt]
	if oci == "" {
		return mt, raw, nil
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", nil, fmt.Errorf("reading layer descriptor: %w", err)
	}
	var err error
	if d["mediaType"], err = marshal(oci); err != nil {
		return "", nil, err
	}
	out, err := marshal(d)
	return oci, out, err
}
