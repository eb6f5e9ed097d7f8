package squash

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

// OutputKind says where the rewritten image goes.
type OutputKind uint8

// Output kinds.
const (
	// OutputNone is a dry run: layers are produced and measured, then
	// dropped.
	OutputNone OutputKind = iota
	// OutputLayout writes a new OCI layout directory.
	OutputLayout
	// OutputDockerArchive writes a `docker save` tarball.
	OutputDockerArchive
	// OutputInPlace updates the source OCI layout.
	OutputInPlace
)

func (k OutputKind) String() string {
	switch k {
	case OutputNone:
		return "dry-run"
	case OutputLayout:
		return "oci"
	case OutputDockerArchive:
		return "docker-archive"
	case OutputInPlace:
		return "in-place"
	}
	return "output(" + strconv.Itoa(int(k)) + ")"
}

// Target is where Fix writes.
type Target struct {
	Kind OutputKind
	// Path is the new layout directory, the archive file, or the source
	// layout for in-place.
	Path string
	// Tags name the new image: one index.json entry each (ref.name) in a
	// layout, one REPO:TAG each in a docker archive. Default: the source's
	// name of the image.
	Tags []string
	// GC, in place, removes the blobs nothing reaches any more instead of
	// keeping the old image under "<tag>-prefix".
	GC bool
	// Source is the reference the images were read from. For an output
	// layout read from an OCI layout whose selection is an index, the
	// index is written again with only the fixed manifests replaced: the
	// platforms not selected, its annotations and its order are kept.
	Source source.Reference

	// fs is what every write goes through (tests inject faults); nil is
	// the OS.
	fs fsys
}

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
func Fix(ctx context.Context, imgs []Image, opts Options, t Target, verify *VerifyOptions) (_ *Outcome, err error) {
	out := &Outcome{}
	fsys := fsOf(t)
	var sink blobSink = discard{}
	var ls *layoutSink
	dir := t.Path
	cleanup := func() error { return nil }
	switch t.Kind {
	case OutputNone:
	case OutputLayout:
		if cleanup, err = prepareOutput(fsys, dir); err != nil {
			return nil, err
		}
	case OutputDockerArchive:
		if len(imgs) != 1 {
			return nil, fmt.Errorf("a docker archive holds one image per platform; select one with --platform: %w", ErrBadPlan)
		}
		stage, err := fsys.MkdirTemp(filepath.Dir(t.Path), tempPrefix+"stage-")
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", t.Path, err)
		}
		dir = stage
		defer func() { err = errors.Join(err, removeAll(fsys, stage)) }()
	case OutputInPlace:
		for _, im := range imgs {
			if im.Analysis.Image.Format != source.FormatOCILayout {
				return nil, fmt.Errorf("--in-place needs an OCI layout directory, not a %s: %w", im.Analysis.Image.Format, ErrBadPlan)
			}
		}
		unlock, err := lockLayout(dir)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, unlock()) }()
		if err := removeStale(fsys, dir); err != nil {
			return nil, err
		}
	}
	if t.Kind != OutputNone {
		if ls, err = newLayoutSink(fsys, dir); err != nil {
			return nil, errors.Join(err, cleanup())
		}
		sink = ls
		if t.Kind == OutputInPlace {
			cleanup = ls.Remove
		}
	}
	fail := func(err error) (*Outcome, error) { return nil, errors.Join(err, cleanup()) }
	for _, im := range imgs {
		r, err := build(ctx, im.Analysis, im.Plan, opts, sink, verify != nil)
		if err != nil {
			return fail(err)
		}
		out.Results = append(out.Results, r)
	}
	if t.Kind == OutputNone {
		return out, nil
	}
	tags := t.Tags
	if len(tags) == 0 && len(imgs) > 0 && imgs[0].Analysis.Image.Ref != "" {
		tags = []string{imgs[0].Analysis.Image.Ref}
	}
	replace := map[v1.Hash]v1.Descriptor{}
	for _, r := range out.Results {
		replace[r.Source.ManifestDigest] = r.Descriptor()
	}
	kept := false
	if t.Kind == OutputLayout {
		if out.Root, kept, err = keepOthers(ls, t.Source, replace); err != nil {
			return fail(err)
		}
	}
	if !kept {
		var ann map[string]string
		if len(imgs) > 1 {
			ann = imgs[0].Analysis.Image.IndexAnnotations
		}
		if out.Root, err = writeRoot(sink, out.Results, indexOptions{Annotations: ann}); err != nil {
			return fail(err)
		}
	}
	var check func() error
	switch t.Kind {
	case OutputLayout:
		if err := writeLayoutIndex(fsys, dir, tagged(out.Root, tags)); err != nil {
			return fail(err)
		}
		check = func() error { return verifyAll(ctx, imgs, out, "oci:"+dir+"@"+out.Root.Digest.String(), verify, dir) }
	case OutputDockerArchive:
		if len(tags) == 0 {
			return fail(fmt.Errorf("a docker archive needs a REPO:TAG (--tag): %w", ErrBadPlan))
		}
		if err := writeLayoutIndex(fsys, dir, []v1.Descriptor{out.Root}); err != nil {
			return fail(err)
		}
		if err := writeDockerArchive(fsys, dir, t.Path, tags); err != nil {
			if errors.Is(err, errCommitted) {
				err = errors.Join(err, fsys.Remove(t.Path))
			}
			return fail(err)
		}
		cleanup = func() error { return fsys.Remove(t.Path) }
		check = func() error {
			if err := verifyAll(ctx, imgs, out, "docker-archive:"+t.Path, verify, ""); err != nil {
				return err
			}
			if err := validateDockerArchive(t.Path, out.Results[0].Written()); err != nil {
				out.Checks[0].Problems = append(out.Checks[0].Problems, err.Error())
			}
			return nil
		}
	case OutputInPlace:
		check = func() (err error) {
			stage, err := stageForVerify(fsys, dir, out.Root, out.Results)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, removeAll(fsys, stage)) }()
			return verifyAll(ctx, imgs, out, "oci:"+stage+":verify", verify, stage)
		}
	case OutputNone:
	}
	if verify != nil {
		if err := check(); err != nil {
			return fail(err)
		}
		if !out.OK() {
			return out, cleanup()
		}
	}
	if t.Kind == OutputInPlace {
		ip := &inPlace{fs: fsys, Dir: dir, Sink: ls, GC: t.GC}
		if out.Kept, err = ip.Swap(replace); err != nil {
			if errors.Is(err, errCommitted) || errors.Is(err, errCollecting) {
				// index.json names the new blobs now: they stay.
				return out, err
			}
			return fail(err)
		}
	}
	return out, nil
}

// tagged returns one descriptor of root per tag (ref.name), or root alone
// without a ref.name.
func tagged(root v1.Descriptor, tags []string) []v1.Descriptor {
	if len(tags) == 0 {
		return []v1.Descriptor{root}
	}
	var out []v1.Descriptor
	for _, tag := range tags {
		d := root
		d.Annotations = maps.Clone(root.Annotations)
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[specs.AnnotationRefName] = tag
		out = append(out, d)
	}
	return out
}

// removeAll removes a temp tree, trying twice: a cleanup that fails once
// (an interrupted call) should still not leave the tree behind.
func removeAll(fsys fsys, p string) error {
	if err := fsys.RemoveAll(p); err == nil {
		return nil
	}
	return fsys.RemoveAll(p)
}

// removeStale deletes what a killed run left in a layout: temp blobs, temp
// index files and verification stages, all named tempPrefix*. It runs
// under the layout's lock, so none of them belongs to a live run.
func removeStale(fsys fsys, dir string) error {
	var errs []error
	for _, d := range []string{dir, filepath.Join(dir, "blobs", "sha256")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("cleaning %s: %w", d, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				errs = append(errs, removeAll(fsys, filepath.Join(d, e.Name())))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing what an earlier run left in %s: %w", dir, err)
	}
	return nil
}

// verifyAll opens the written images and checks each against its input.
func verifyAll(ctx context.Context, imgs []Image, out *Outcome, ref string, opts *VerifyOptions, layoutDir string) error {
	src, err := source.Open(ref, source.Options{Platform: "all", Verify: true})
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
		vo.Strip = im.Plan.Strip
		vo.NoAnnotations = strings.HasPrefix(ref, "docker-archive:")
		c := &Check{}
		if g := got[out.Results[i].ManifestDigest]; g != nil {
			if c, err = verifyImage(ctx, im.Analysis, g, out.Results[i], vo); err != nil {
				return err
			}
			if layoutDir != "" {
				if err := validateLayout(layoutDir, out.Results[i].ManifestDigest, out.Results[i].Written()); err != nil {
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
