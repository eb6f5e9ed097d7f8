package squash

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

// Image is one image to fix: its analysis and plan.
type Image struct {
	Analysis *analyze.Analysis
	Plan     *Plan
}

// Outcome is what Fix did.
type Outcome struct {
	Results []*Result
	// Checks has one entry per image when verification ran.
	Checks []*Check
	Root   v1.Descriptor
	// Kept names the tags under which in-place kept the old images.
	Kept []string
	// Loaded names what an engine reported loading (OutputEngine).
	Loaded []string
	// LoadSkipped (OutputEngine): the image is unchanged and was read
	// from the same engine under the same name, so it was not loaded
	// again; Loaded is empty.
	LoadSkipped bool
	// Unchanged: nothing needed changing; every image written is the
	// source's, byte for byte (same manifest, config and layer digests),
	// and in place, the layout was left as it was.
	Unchanged bool
}

// OK reports that every check passed (or none ran).
func (o *Outcome) OK() bool {
	for _, c := range o.Checks {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Fix builds every image, writes them to the target and, unless verify is
// nil, verifies them. On a failed check or an error nothing of the source
// changes, a new output is removed again and no temp file stays behind.
// Fix returns an Outcome with failed checks and a nil error when the
// rewrite ran but the proof failed; the caller decides how to say so.
//
// In place, Fix holds the layout's lock (LockName) from start to end, and
// fails with ErrLocked when another run holds it.
//
// Every output kind goes through the same steps of its target (see the
// target interface): prepare, build, write, verify, commit; rollback on a
// failure; release in any case.
func Fix(ctx context.Context, imgs []Image, opts Options, t Target, verify *VerifyOptions) (_ *Outcome, err error) {
	tg, err := newTarget(t)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, tg.release()) }()
	sink, err := tg.prepare(imgs)
	if err != nil {
		return nil, err
	}
	if lp, ok := tg.(layerPolicy); ok {
		opts = lp.layers(opts)
	}
	fail := func(err error) (*Outcome, error) { return nil, errors.Join(err, tg.rollback()) }
	out := &Outcome{}
	// One bound on the compressors of the whole fix, however many layers
	// are written at once.
	pool := newCompressPool(0)
	for i, im := range imgs {
		o := opts
		if progress := opts.Progress; progress != nil {
			o.Progress = func(p WriteProgress) { p.Image = i; progress(p) }
		}
		r, err := build(ctx, im.Analysis, im.Plan, o, sink, pool, verify != nil)
		if err != nil {
			return fail(err)
		}
		out.Results = append(out.Results, r)
	}
	out.Unchanged = len(out.Results) > 0
	for _, r := range out.Results {
		if r.ManifestDigest != r.Source.ManifestDigest {
			out.Unchanged = false
		}
	}
	w := newWritten(imgs, out, t.Tags)
	if err := tg.write(ctx, w); err != nil {
		return fail(err)
	}
	if verify != nil {
		if err := tg.verify(ctx, w, verify); err != nil {
			return fail(err)
		}
		if !out.OK() {
			return out, tg.rollback()
		}
	}
	if err := tg.commit(w); err != nil {
		if errors.Is(err, errCommitted) || errors.Is(err, errCollecting) {
			// The new state is visible (index.json names the new
			// blobs): it stays.
			return out, err
		}
		return fail(err)
	}
	return out, nil
}

// verifyAll opens the written images and checks each against its input.
func verifyAll(ctx context.Context, imgs []Image, out *Outcome, ref string, opts *VerifyOptions, layoutDir string) error {
	return verifyAllFrom(ctx, imgs, out, ref, opts, layoutDir, source.Options{})
}

// verifyAllFrom is verifyAll with the options that reach the output (a
// registry's).
func verifyAllFrom(ctx context.Context, imgs []Image, out *Outcome, ref string, opts *VerifyOptions, layoutDir string, so source.Options) error {
	so.Platform, so.Verify = "all", true
	src, err := source.OpenContext(ctx, ref, so)
	if err != nil {
		return fmt.Errorf("re-opening the output %s: %w", ref, err)
	}
	defer src.Close() //nolint:errcheck // read-only
	// By manifest digest: an output layout may list other platforms too.
	// A docker archive has no manifest blob (its digest is synthesised)
	// and holds exactly the images written, in order.
	got := map[v1.Hash]*source.Image{}
	for i, g := range src.Images() {
		if strings.HasPrefix(ref, "docker-archive:") && i < len(out.Results) {
			got[out.Results[i].ManifestDigest] = g
			continue
		}
		got[g.ManifestDigest] = g
	}
	for i, im := range imgs {
		vo := *opts
		vo.Strip, vo.StripPaths = im.Plan.Strip, im.Plan.StripPaths
		vo.NoAnnotations = strings.HasPrefix(ref, "docker-archive:")
		vo.dockerArchive = vo.NoAnnotations
		c := &Check{}
		if g := got[out.Results[i].ManifestDigest]; g != nil {
			if c, err = verifyImage(ctx, im.Analysis, g, out.Results[i], vo); err != nil {
				return err
			}
			if layoutDir != "" {
				if err := validateLayout(layoutDir, out.Results[i].ManifestDigest, out.Results[i]); err != nil {
					c.Problems = append(c.Problems, err.Error())
				}
			}
		} else {
			c.Problems = append(c.Problems, fmt.Sprintf("the output does not list manifest %s", out.Results[i].ManifestDigest))
		}
		out.Checks = append(out.Checks, c)
	}
	return nil
}
