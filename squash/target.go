package squash

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/safefs"
)

// OutputKind says where the rewritten image goes.
type OutputKind uint8

// Output kinds. Each has one implementation of target, made in newTarget.
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
	// OutputRegistry pushes to a registry (Path is the REPO:TAG).
	OutputRegistry
	// OutputEngine loads a docker archive into a local engine (Docker,
	// or Podman's Docker-compatible service) at Engine.
	OutputEngine
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
	case OutputRegistry:
		return "registry"
	case OutputEngine:
		return "docker-daemon"
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
	// KeepMediaTypes keeps the Docker media types of a Docker image in an
	// OCI layout output; by default they become the OCI ones (skopeo and
	// umoci look for OCI types in a layout).
	KeepMediaTypes bool
	// Registry reaches the registry of OutputRegistry (and a registry
	// source, to mount its layers).
	Registry source.RegistryOptions
	// Engine is the API address of the engine OutputEngine loads into
	// (unix:///… or tcp://…).
	Engine string
	// SourceEngine is the API address of the engine the images were read
	// from (a docker-daemon: or podman: source), empty otherwise. When it
	// is Engine, the image is unchanged and it would go back under the
	// name it came from, OutputEngine loads nothing: the engine has that
	// image already (Outcome.LoadSkipped).
	SourceEngine string

	// wrap, when set, wraps the filesystem every write goes through
	// (tests inject faults).
	wrap func(fsys) fsys
}

// A target is one kind of output of Fix. Fix drives every kind through
// the same steps, in this order, so that the guarantees of Fix (nothing of
// the source changes on a failure, a new output is removed again, no temp
// file stays behind) hold for each kind by the same code:
//
//	prepare   check that the images suit this output; take what the run
//	          holds (a lock, a staging folder); return the sink the
//	          rewritten blobs go to. On an error it has taken back what it
//	          did itself; Fix then only calls release.
//	          (Fix then builds every image into the sink.)
//	write     write what makes the blobs an image: the root descriptor
//	          (w.out.Root), index.json, the archive. Not yet visible
//	          where that matters (in place, index.json is not touched).
//	verify    only when Fix verifies: re-open what was written and append
//	          one Check per image, in order, to w.out.Checks. An error
//	          means the check could not run; a failed check is a Check
//	          with problems, after which Fix rolls back.
//	commit    make the output the visible state (in place: swap
//	          index.json). An error wrapping errCommitted or
//	          errCollecting says the new state is already visible: Fix
//	          returns the outcome with the error and does not roll back.
//	rollback  after an error of write, verify or commit, or a failed
//	          check: take back everything written since prepare.
//	release   always, last: unlock, remove staging folders.
//
// Adding an output kind is a new OutputKind constant, a file with its
// target, and its case in newTarget (the exhaustive linter points at the
// switch that lacks it). The building blocks are shared: a layoutSink
// writes blobs to a directory (sink.go), writeFileAtomic and removeAll
// write and clean crash-safely (atomic.go), writeRoot and
// writeLayoutIndex finish a layout (index.go), verifyAll proves what was
// written (fix.go).
type target interface {
	prepare(imgs []Image) (blobSink, error)
	write(ctx context.Context, w *written) error
	verify(ctx context.Context, w *written, opts *VerifyOptions) error
	commit(w *written) error
	rollback() error
	release() error
}

// layerPolicy is implemented by a target whose format decides how layers
// are stored; Fix builds with the options it returns.
type layerPolicy interface {
	layers(opts Options) Options
}

// written is what a run produced, handed to each step of its target.
type written struct {
	imgs []Image
	// out collects the results (filled by Fix before write), the root
	// (set by write), the checks (by verify) and the kept tags (by
	// commit).
	out *Outcome
	// tags name the output: Target.Tags, else the source's name of the
	// image, else none.
	tags []string
	// replace maps each source manifest digest to its rewritten
	// descriptor.
	replace map[v1.Hash]v1.Descriptor
}

func newWritten(imgs []Image, out *Outcome, tags []string) *written {
	if len(tags) == 0 && len(imgs) > 0 && imgs[0].Analysis.Image.Ref != "" {
		tags = []string{imgs[0].Analysis.Image.Ref}
	}
	replace := map[v1.Hash]v1.Descriptor{}
	for _, r := range out.Results {
		replace[r.Source.ManifestDigest] = r.Descriptor()
	}
	return &written{imgs: imgs, out: out, tags: tags, replace: replace}
}

// writeRoot writes, into sink, the index of the rewritten images when
// there are several (with the source index's annotations), and returns the
// descriptor index.json lists.
func (w *written) writeRoot(sink blobSink) (v1.Descriptor, error) {
	var ann map[string]string
	if len(w.imgs) > 1 {
		ann = w.imgs[0].Analysis.Image.IndexAnnotations
	}
	return writeRoot(sink, w.out.Results, ann)
}

// newTarget returns the target of t's kind: the one registration of each
// output kind.
func newTarget(t Target) (target, error) {
	switch t.Kind {
	case OutputNone:
		return dryRun{}, nil
	case OutputLayout:
		if err := errors.Join(outsideSource(t), checkOutputPath(t.Path)); err != nil {
			return nil, err
		}
		return &layoutTarget{wrap: t.wrap, dir: t.Path, source: t.Source, keepTypes: t.KeepMediaTypes}, nil
	case OutputDockerArchive:
		if err := errors.Join(outsideSource(t), checkOutputPath(t.Path)); err != nil {
			return nil, err
		}
		return &archiveTarget{wrap: t.wrap, path: t.Path, asked: t.Tags}, nil
	case OutputInPlace:
		return &inPlaceTarget{wrap: t.wrap, dir: t.Path, gc: t.GC}, nil
	case OutputRegistry:
		return newRegistryTarget(t)
	case OutputEngine:
		if t.Engine == "" {
			return nil, fmt.Errorf("loading into an engine: no engine address: %w", ErrBadPlan)
		}
		return &engineTarget{host: t.Engine, sourceHost: t.SourceEngine, archive: archiveTarget{wrap: t.wrap, asked: t.Tags}}, nil
	}
	return nil, fmt.Errorf("output kind %s: %w", t.Kind, ErrBadPlan)
}

// outsideSource refuses an output inside the source layout: writing there
// would change the source (the in-place mode exists for that, with its
// lock and its proof), and a cleanup of the output could delete from it.
func outsideSource(t Target) error {
	if t.Source.Path == "" {
		return nil
	}
	src, out := t.Source.Path, t.Path
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil //nolint:nilerr // an archive or nothing there: no folder to write into
	}
	// Compare the resolved paths too: a symlink may hide that one is in
	// the other.
	for _, p := range [][2]string{{src, out}, {resolved(src), resolved(out)}} {
		if _, err := safefs.Rel(p[0], p[1]); err == nil {
			return planErrorf(OptionInPlace, "the output %s is inside the source layout %s: write it elsewhere", t.Path, t.Source.Path)
		}
	}
	return nil
}

// resolved returns p with its symlinks resolved, as far as it exists.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// ErrUntrustedLink reports an output path that goes through a symlink
// that someone other than root or this user owns: in a shared folder
// (/tmp) another user could have planted it to send the output, and its
// cleanup, elsewhere.
var ErrUntrustedLink = errors.New("the output path goes through a symlink that another user owns")

// checkOutputPath refuses an output path whose existing components
// include a symlink owned by another user (root's and this user's own
// links are theirs to make, as the kernel's protected_symlinks assumes).
// The last component is checked by the writes themselves.
func checkOutputPath(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("output %s: %w", p, err)
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		fi, err := os.Lstat(dir)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if uid, _, ok := fileOwner(fi); ok && uid != 0 && uid != os.Geteuid() {
				return fmt.Errorf("output %s: %s is a symlink owned by uid %d; give the path it resolves to: %w", p, dir, uid, ErrUntrustedLink)
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}
