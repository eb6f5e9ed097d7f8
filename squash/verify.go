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
	// dockerArchive: the output is a docker archive, whose layer digests
	// are synthesised by the reader rather than written.
	dockerArchive bool
}

// verifyImage re-analyzes out, the written image (every digest and diff_id is
// checked while it streams), and compares it with in, the analysis of the
// input.
func verifyImage(ctx context.Context, in *analyze.Analysis, out *source.Image, res *Result, opts VerifyOptions) (*Check, error) {
	ao := opts.Analyze
	ao.Verify = true
	ao.BaseLayers, ao.BaseFrom = res.Plan.Base, analyze.BaseOption
	// The output is proven by reading what was written, never by a cache.
	ao.ExactWire, ao.Inspect, ao.Scan, ao.Layers, ao.Cache = false, nil, nil, 0, nil
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
		return c, nil
	}
	c.Problems = append(c.Problems, checkWritten(got, out, res, opts.dockerArchive)...)
	return c, nil
}

// checkWritten holds each layer the rewrite wrote to the one read of it
// that the re-analysis just made (ggcr's validate.Layer used to decode it
// again for the same facts): the blob was decoded (the reader checked its
// size, digest and diff_id against the output's descriptors while it
// streamed), those descriptors are the ones the writer computed while
// writing, a gzip layer's members all named their length right, and no
// path appears twice in its tar.
func checkWritten(got *analyze.Analysis, out *source.Image, res *Result, dockerArchive bool) []string {
	var problems []string
	for i, want := range res.Layers {
		if want.Kept {
			continue
		}
		l := out.Layers[i]
		if !slices.Contains(got.Decoded, i) || i >= len(got.Changesets) || got.Changesets[i] == nil {
			problems = append(problems, fmt.Sprintf("written layer %d (%s) was not read back", i, want.Digest))
			continue
		}
		if l.DiffID != want.DiffID {
			problems = append(problems, fmt.Sprintf("written layer %d: diff_id is %s, the rewrite wrote %s", i, l.DiffID, want.DiffID))
		}
		if !dockerArchive && (l.Digest != want.Digest || l.Size != want.Size) {
			problems = append(problems, fmt.Sprintf("written layer %d: descriptor is %s (%d bytes), the rewrite wrote %s (%d bytes)", i, l.Digest, l.Size, want.Digest, want.Size))
		}
		if st := got.Stats[i]; st.Compression == CompressionGzip && (st.GzipMembers == 0 || st.GzipIndexed != st.GzipMembers) {
			// The writer names each member's length so that the read is
			// parallel; the read checked each length against its member,
			// and a wrong one was decoded again serially: proven content,
			// but a writer that lies about its framing.
			problems = append(problems, fmt.Sprintf("written layer %d (%s): %d of %d gzip members named their length right", i, want.Digest, st.GzipIndexed, st.GzipMembers))
		}
		if p, ok := duplicateEntry(got.Changesets[i]); ok {
			problems = append(problems, fmt.Sprintf("written layer %d (%s): duplicate entry %q", i, want.Digest, p))
		}
	}
	return problems
}

// duplicateEntry reports a path that a layer names twice, as ggcr's
// validate.Layer does; paths are compared cleaned, so "./a" and "a" are
// the same. A whiteout and an opaque marker act on a path the layer may
// also hold (an opaque directory is written with its marker), so each
// kind of entry is keyed apart.
func duplicateEntry(cs *overlay.Changeset) (string, bool) {
	type key struct {
		path string
		kind int
	}
	seen := make(map[key]struct{}, cs.Len())
	for _, e := range cs.All() {
		k := key{path: e.Path}
		switch e.Kind {
		case overlay.EntryWhiteout:
			k.kind = 1
		case overlay.EntryOpaque:
			k.kind = 2
		case overlay.EntryFile, overlay.EntryDir, overlay.EntrySymlink, overlay.EntryHardlink,
			overlay.EntryCharDevice, overlay.EntryBlockDevice, overlay.EntryFIFO:
		}
		if _, ok := seen[k]; ok {
			return e.Path, true
		}
		seen[k] = struct{}{}
	}
	return "", false
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

// validateLayout runs ggcr's validate.Image (validate.Fast) on the image of
// manifest digest d in the layout at dir: manifest and config digests and
// sizes, config content, layer presence. The content of the written layers
// is not decoded again here: verifyImage's single read of each written
// blob checked its size, digest and diff_id, and the layers' tar entries;
// matchRead holds ggcr's view of those layers to what that read proved.
func validateLayout(dir string, d v1.Hash, res *Result) error {
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
	return validateImage(img, d.String(), res, false)
}

// validateImage is ggcr's validate.Image in its fast form, plus, for each
// layer the rewrite wrote, ggcr's digest, size and diff_id held to the
// ones the writer computed while writing (res), which verifyImage's read
// of the blob confirmed. Nothing here reads a layer blob: ggcr's full
// validate.Layer decoded every written layer a second time with
// compress/gzip for the same three facts and a duplicate-path check, which
// the read in verifyImage makes too (duplicateEntry).
func validateImage(img v1.Image, what string, res *Result, archive bool) error {
	if err := validate.Image(img, validate.Fast); err != nil {
		return fmt.Errorf("validate.Image %s: %w", what, err)
	}
	if res == nil {
		return nil
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("validate.Image %s: %w", what, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("validate.Image %s: %w", what, err)
	}
	if len(layers) != len(res.Layers) || len(cf.RootFS.DiffIDs) != len(res.Layers) {
		return fmt.Errorf("validate.Image %s: %d layers and %d diff_ids, the rewrite wrote %d", what, len(layers), len(cf.RootFS.DiffIDs), len(res.Layers))
	}
	for i, l := range layers {
		if res.Layers[i].Kept {
			continue
		}
		if err := matchRead(l, cf.RootFS.DiffIDs[i], res.Layers[i], archive); err != nil {
			return fmt.Errorf("validate.Layer %d (%s) of %s: %w", i, res.Layers[i].Digest, what, err)
		}
	}
	return nil
}

// matchRead compares ggcr's view of a written layer (its descriptor and
// the diff_id its parse of the config gives the layer) with what the
// writer computed. The diff_id is taken from the config, not from
// l.DiffID(): for a layer of a layout, ggcr computes that by decompressing
// the whole blob again, the second decode verification exists to avoid;
// the re-analysis already hashed the decoded tar against the config's
// diff_id. A docker archive names its layers by a digest ggcr computes
// from a compressed form of its own, so only the diff_id and the
// (uncompressed) presence are compared there.
func matchRead(l v1.Layer, diffID v1.Hash, want LayerResult, archive bool) error {
	if diffID != want.DiffID {
		return fmt.Errorf("diff_id is %s, the rewrite wrote %s", diffID, want.DiffID)
	}
	if archive {
		return nil
	}
	digest, err := l.Digest()
	if err != nil {
		return err
	}
	size, err := l.Size()
	if err != nil {
		return err
	}
	if digest != want.Digest || size != want.Size {
		return fmt.Errorf("descriptor is %s (%d bytes), the rewrite wrote %s (%d bytes)", digest, size, want.Digest, want.Size)
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
func validateDockerArchive(path string, res *Result) error {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return err
	}
	return validateImage(img, path, res, true)
}
