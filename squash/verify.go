package squash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// Check is what verification found.
type Check struct {
	// Differences between the input's merged view (minus stripped paths)
	// and the output's.
	Differences []overlay.Difference
	// WastedAboveBase is the output's waste shipped above the base.
	WastedAboveBase int64
	// Problems lists failures beyond the view: waste left after a full
	// squash, a config field or annotation that changed, ggcr's
	// validate.Image.
	Problems []string
}

// OK reports a clean check.
func (c *Check) OK() bool { return len(c.Differences) == 0 && len(c.Problems) == 0 }

// VerifyOptions tune the proof Fix runs on what it wrote.
type VerifyOptions struct {
	// Analyze tunes the re-analysis; its Verify is forced on.
	Analyze analyze.Options
	// RequireNoWaste fails when the output still wastes bytes above the
	// base (after --squash auto or all).
	RequireNoWaste bool
	// ModTime compares modification times (off when they were clamped).
	ModTime bool
	// Strip are the globs and StripPaths the exact paths the rewrite
	// dropped.
	Strip      []string
	StripPaths []string
	// NoAnnotations skips the manifest annotation check, for outputs that
	// cannot hold annotations (a docker archive's manifest.json).
	NoAnnotations bool
}

// verifyImage re-analyzes out, the written image (every digest and diff_id is
// checked while it streams), and compares it with in, the analysis of the
// input.
func verifyImage(ctx context.Context, in *analyze.Analysis, out *source.Image, res *Result, opts VerifyOptions) (*Check, error) {
	ao := opts.Analyze
	ao.Verify = true
	ao.BaseLayers, ao.BaseFrom = res.Plan.Base, analyze.BaseOption
	// The output is proven by reading what was written, never by a cache.
	ao.ExactWire, ao.Inspect, ao.Layers, ao.Cache = false, nil, 0, nil
	got, err := analyze.Analyze(ctx, out, ao)
	if err != nil {
		return nil, fmt.Errorf("re-reading the output: %w", err)
	}
	c := &Check{}
	strip := stripMatcher(opts.Strip, opts.StripPaths)
	var want []overlay.File
	for _, f := range in.Model.Files() {
		if !strip(f.Path) {
			want = append(want, f)
		}
	}
	c.Differences = overlay.Compare(want, got.Model.Files(), overlay.CompareOptions{Xattrs: true, LinkGroups: true, ModTime: opts.ModTime})
	for _, w := range got.Model.Waste() {
		if w.Layer >= res.Plan.Base {
			c.WastedAboveBase += w.Size
		}
	}
	if opts.RequireNoWaste && c.WastedAboveBase > 0 {
		c.Problems = append(c.Problems, fmt.Sprintf("%d bytes still wasted above the base", c.WastedAboveBase))
	}
	c.Problems = append(c.Problems, sameConfig(in.Image, out)...)
	if !opts.NoAnnotations && !maps.Equal(in.Image.Annotations, out.Annotations) {
		c.Problems = append(c.Problems, fmt.Sprintf("manifest annotations changed: %v → %v", in.Image.Annotations, out.Annotations))
	}
	if len(out.Layers) != len(res.Layers) {
		c.Problems = append(c.Problems, fmt.Sprintf("output has %d layers, the plan %d", len(out.Layers), len(res.Layers)))
	}
	return c, nil
}

// sameConfig compares two configs with rootfs and history left out:
// everything else (entrypoint, cmd, env, user, workdir, volumes, labels,
// ports, healthcheck, unknown keys) must be the same JSON value.
func sameConfig(a, b *source.Image) []string {
	strip := func(raw []byte) (map[string]any, error) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		delete(m, "rootfs")
		delete(m, "history")
		return m, nil
	}
	ma, err1 := strip(a.RawConfig)
	mb, err2 := strip(b.RawConfig)
	if err := errors.Join(err1, err2); err != nil {
		return []string{"config unreadable: " + err.Error()}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ma)) {
		ja, _ := json.Marshal(ma[k]) //nolint:errchkjson // decoded JSON re-encodes
		jb, _ := json.Marshal(mb[k]) //nolint:errchkjson // decoded JSON re-encodes
		if !bytes.Equal(ja, jb) {
			out = append(out, fmt.Sprintf("config %q changed: %s → %s", k, ja, jb))
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, fmt.Sprintf("config %q added", k))
		}
	}
	return out
}

// validateLayout runs ggcr's validate.Image on the image of manifest
// digest d in the layout at dir: manifest, config and layer presence, and
// the full validate.Layer (content read again: digest, diff_id, size,
// duplicate paths) on each layer whose digest is in written. Layers kept
// as they were are byte-identical to the source's, whose digests the
// re-analysis checks; a full check of those would only hold the source's
// own quirks (such as a duplicate entry) against the rewrite.
func validateLayout(dir string, d v1.Hash, written map[v1.Hash]bool) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return err
	}
	img, err := findImage(ii, d, 0, map[v1.Hash]bool{})
	if err != nil {
		return err
	}
	return validateImage(img, d.String(), written, false)
}

func validateImage(img v1.Image, what string, written map[v1.Hash]bool, archive bool) error {
	if err := validate.Image(img, validate.Fast); err != nil {
		return fmt.Errorf("validate.Image %s: %w", what, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("validate.Image %s: %w", what, err)
	}
	for i, l := range layers {
		h, err := l.Digest()
		if err != nil {
			return fmt.Errorf("validate.Layer %d of %s: %w", i, what, err)
		}
		if !written[h] {
			continue
		}
		mt, err := l.MediaType()
		if err != nil {
			return fmt.Errorf("validate.Layer %d of %s: %w", i, what, err)
		}
		if archive || compressionOf(mt) != CompressionGzip {
			// validate.Layer reads every layer as gzip (ggcr v0.22), and
			// a docker archive names every layer gzip whatever it holds;
			// check the same digests through ggcr's sniffing decoders.
			if err := checkLayer(l); err != nil {
				return fmt.Errorf("layer %d (%s) of %s: %w", i, h, what, err)
			}
			continue
		}
		if err := validate.Layer(l); err != nil {
			return fmt.Errorf("validate.Layer %d (%s) of %s: %w", i, h, what, err)
		}
	}
	return nil
}

// Written lists the digests of the layers the rewrite produced.
func (r *Result) Written() map[v1.Hash]bool {
	m := map[v1.Hash]bool{}
	for _, l := range r.Layers {
		if !l.Kept {
			m[l.Digest] = true
		}
	}
	return m
}

// findImage searches the indexes under ii for the manifest d. An in-place
// output keeps the layout's other entries, written by the image's author,
// and indexes form a DAG that can list one index hundreds of times per
// level: each index is searched once (seen), so the search costs the
// layout's size, not the number of its paths.
func findImage(ii v1.ImageIndex, d v1.Hash, depth int, seen map[v1.Hash]bool) (v1.Image, error) {
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Digest == d {
			return ii.Image(d)
		}
	}
	if depth < 8 {
		for _, m := range im.Manifests {
			if m.MediaType.IsIndex() && !seen[m.Digest] {
				seen[m.Digest] = true
				child, err := ii.ImageIndex(m.Digest)
				if err != nil {
					continue
				}
				if img, err := findImage(child, d, depth+1, seen); err == nil {
					return img, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("manifest %s not in the layout", d)
}

// validateDockerArchive runs validate.Image on a docker archive, as
// validateLayout does.
func validateDockerArchive(path string, written map[v1.Hash]bool) error {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return err
	}
	return validateImage(img, path, written, true)
}

// checkLayer recomputes a layer's digest, size and diff_id through ggcr.
func checkLayer(l v1.Layer) error {
	want, err := l.Digest()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	got, size, err := v1.SHA256(rc)
	if err = errors.Join(err, rc.Close()); err != nil {
		return err
	}
	wantSize, err := l.Size()
	if err != nil {
		return err
	}
	if got != want || size != wantSize {
		return fmt.Errorf("blob is %s (%d bytes), descriptor says %s (%d bytes)", got, size, want, wantSize)
	}
	wantDiff, err := l.DiffID()
	if err != nil {
		return err
	}
	urc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	gotDiff, _, err := v1.SHA256(urc)
	if err = errors.Join(err, urc.Close()); err != nil {
		return err
	}
	if gotDiff != wantDiff {
		return fmt.Errorf("diff_id is %s, config says %s", gotDiff, wantDiff)
	}
	return nil
}
