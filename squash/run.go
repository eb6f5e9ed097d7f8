package squash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
	// Tag names the new image (ref.name in a layout, REPO:TAG in a docker
	// archive).
	Tag string
	// GC, in place, removes the blobs nothing reaches any more instead of
	// keeping the old image under "<tag>-prefix".
	GC bool
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
// nil, verifies them. On a failed check nothing of the source changes, and
// a new output is removed again. Fix returns an Outcome with failed checks
// and a nil error when the rewrite ran but the proof failed; the caller
// decides how to say so.
func Fix(ctx context.Context, imgs []Image, opts Options, t Target, verify *VerifyOptions) (_ *Outcome, err error) {
	out := &Outcome{}
	var sink BlobSink
	var ls *LayoutSink
	dir := t.Path
	cleanup := func() error { return nil }
	switch t.Kind {
	case OutputNone:
		sink = Discard{}
	case OutputLayout:
		if err := PrepareOutput(dir); err != nil {
			return nil, err
		}
		cleanup = func() error { return os.RemoveAll(dir) }
	case OutputDockerArchive:
		stage, err := os.MkdirTemp(filepath.Dir(t.Path), ".layerlint-stage-")
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", t.Path, err)
		}
		dir = stage
		defer func() { err = errors.Join(err, os.RemoveAll(stage)) }()
		if len(imgs) != 1 {
			return nil, fmt.Errorf("a docker archive holds one image per platform; select one with --platform: %w", ErrBadPlan)
		}
	case OutputInPlace:
		for _, im := range imgs {
			if im.Analysis.Image.Format != source.FormatOCILayout {
				return nil, fmt.Errorf("--in-place needs an OCI layout directory, not a %s: %w", im.Analysis.Image.Format, ErrBadPlan)
			}
		}
	}
	if t.Kind != OutputNone {
		if ls, err = NewLayoutSink(dir); err != nil {
			return nil, errors.Join(err, cleanup())
		}
		sink = ls
		if t.Kind == OutputInPlace {
			cleanup = ls.Remove
		}
	}
	fail := func(err error) (*Outcome, error) { return nil, errors.Join(err, cleanup()) }
	for _, im := range imgs {
		r, err := Build(ctx, im.Analysis, im.Plan, opts, sink, verify != nil)
		if err != nil {
			return fail(err)
		}
		out.Results = append(out.Results, r)
	}
	if t.Kind == OutputNone {
		return out, nil
	}
	tag := t.Tag
	if tag == "" && len(imgs) > 0 {
		tag = imgs[0].Analysis.Image.Ref
	}
	var ann map[string]string
	if len(imgs) > 1 {
		ann = imgs[0].Analysis.Image.IndexAnnotations
	}
	if out.Root, err = Root(sink, out.Results, IndexOptions{Tag: tag, Annotations: ann}); err != nil {
		return fail(err)
	}
	var check func() error
	switch t.Kind {
	case OutputLayout:
		if err := WriteLayoutIndex(dir, out.Root, nil); err != nil {
			return fail(err)
		}
		check = func() error { return verifyAll(ctx, imgs, out, "oci:"+dir, verify, dir) }
	case OutputDockerArchive:
		if tag == "" {
			return fail(fmt.Errorf("a docker archive needs a REPO:TAG (--tag): %w", ErrBadPlan))
		}
		if err := WriteLayoutIndex(dir, out.Root, nil); err != nil {
			return fail(err)
		}
		if err := WriteDockerArchive(dir, t.Path, tag); err != nil {
			return fail(err)
		}
		cleanup = func() error { return os.Remove(t.Path) }
		check = func() error {
			if err := verifyAll(ctx, imgs, out, "docker-archive:"+t.Path, verify, ""); err != nil {
				return err
			}
			if err := ValidateDockerArchive(t.Path, out.Results[0].Written()); err != nil {
				out.Checks[0].Problems = append(out.Checks[0].Problems, err.Error())
			}
			return nil
		}
	case OutputInPlace:
		check = func() error {
			stage, err := StageForVerify(dir, out.Root, out.Results)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, os.RemoveAll(stage)) }()
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
		replace := map[v1.Hash]v1.Descriptor{}
		for _, r := range out.Results {
			replace[r.Source.ManifestDigest] = r.Descriptor()
		}
		ip := &InPlace{Dir: dir, Sink: ls, GC: t.GC}
		if out.Kept, err = ip.Swap(replace); err != nil {
			return out, err
		}
	}
	return out, nil
}

// verifyAll opens the written images and checks each against its input.
func verifyAll(ctx context.Context, imgs []Image, out *Outcome, ref string, opts *VerifyOptions, layoutDir string) error {
	src, err := source.Open(ref, source.Options{Platform: "all", Verify: true})
	if err != nil {
		return fmt.Errorf("re-opening the output %s: %w", ref, err)
	}
	defer src.Close() //nolint:errcheck // read-only
	got := src.Images()
	for i, im := range imgs {
		vo := *opts
		vo.Strip = im.Plan.Strip
		vo.NoAnnotations = strings.HasPrefix(ref, "docker-archive:")
		c := &Check{}
		if i < len(got) {
			if c, err = Verify(ctx, im.Analysis, got[i], out.Results[i], vo); err != nil {
				return err
			}
			if layoutDir != "" {
				if err := ValidateLayout(layoutDir, out.Results[i].ManifestDigest, out.Results[i].Written()); err != nil {
					c.Problems = append(c.Problems, err.Error())
				}
			}
		} else {
			c.Problems = append(c.Problems, fmt.Sprintf("the output holds %d images, want %d", len(got), len(imgs)))
		}
		out.Checks = append(out.Checks, c)
	}
	return nil
}
