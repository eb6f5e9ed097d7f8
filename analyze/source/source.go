package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options tune Open.
type Options struct {
	// Platform selects among the manifests of a multi-platform index:
	// "os/arch[/variant]", "all" for every platform, or "" for the host's
	// platform (runtime.GOOS/GOARCH). A single-manifest image ignores it
	// unless it names a different platform, which is an error.
	Platform string
	// Verify checks the digest and size of every index, manifest and
	// config blob read while opening. Layer streams are verified per
	// Layer.Open call.
	Verify bool
	// Registry tunes registry: references.
	Registry RegistryOptions
	// EngineHost is the API address of the local engine for docker-daemon:
	// and podman: references (unix:///path or tcp://host:port); empty
	// means DOCKER_HOST or Docker's socket for docker-daemon:, and
	// Podman's socket for podman:.
	EngineHost string
	// MaxSaveBytes caps the `docker save` stream of a docker-daemon: or
	// podman: image, which is spooled to a temporary file before it is
	// read: an engine (or an image in it) must not fill the disk. Zero
	// means DefaultMaxSaveBytes.
	MaxSaveBytes int64
}

// DefaultMaxSaveBytes is the default of Options.MaxSaveBytes: the same
// 256 GiB as analyze's default cap on an image's content, since a save
// stream holds the image's layers uncompressed.
const DefaultMaxSaveBytes int64 = 256 << 30

// Source is an opened image source. It holds the archive file or layout
// directory open until Close; its layers stream from it.
type Source struct {
	ref    Reference
	st     store
	images []*Image
}

// Image is one image (one platform) of a Source.
type Image struct {
	// Ref names the image inside its source: the
	// org.opencontainers.image.ref.name of an OCI layout entry or the
	// repo:tag of a docker archive. Empty when the image is unnamed.
	Ref string
	// Name is the image's full name, REPOSITORY:TAG, where the source
	// knows one: the reference of a registry image (tag latest when none
	// was given), a docker archive's or engine's repo tag, an OCI layout
	// entry's io.containerd.image.name, or its ref.name when that is a
	// full name rather than a bare tag. Empty otherwise.
	Name   string
	Format Format
	// Descriptor is the descriptor that named the manifest (in index.json
	// or an index): its platform and annotations. Zero for a docker
	// archive without an OCI layout.
	Descriptor v1.Descriptor

	ManifestDigest    v1.Hash
	ManifestMediaType types.MediaType
	// RawManifest is the manifest as stored; for a classic docker archive,
	// which has none, it is the JSON of the synthesised Manifest.
	RawManifest []byte
	Manifest    *v1.Manifest

	Config       *v1.ConfigFile
	RawConfig    []byte
	ConfigDigest v1.Hash

	// Platform comes from the index descriptor, else from the config.
	Platform *v1.Platform
	// Annotations are the manifest's (base.name and base.digest live here).
	Annotations map[string]string
	// IndexAnnotations are those of the index that listed the manifest
	// (the nearest one when indexes nest), nil when there was none.
	IndexAnnotations map[string]string

	// Layers are ordered bottom first.
	Layers []*Layer
}

// Layer is one layer of an Image.
type Layer struct {
	// Index is the position in the image, from 0 at the bottom.
	Index int
	// Digest names the blob as stored (compressed); DiffID names the
	// uncompressed tar (from the config's rootfs.diff_ids).
	Digest, DiffID v1.Hash
	MediaType      types.MediaType
	// Size is the blob size from the descriptor.
	Size        int64
	Annotations map[string]string
	URLs        []string
	// Missing is set for a non-distributable (foreign) layer whose blob is
	// not in the image; MissingReason says why. Open fails for it.
	Missing       bool
	MissingReason string

	st       store
	blob     string // name of the blob inside st
	manifest string // what needs this layer, for error messages
}

// Open opens the image named by ref (see ParseReference).
func Open(ref string, opts Options) (*Source, error) {
	return OpenContext(context.Background(), ref, opts)
}

// OpenContext is Open with a context, which also bounds the layer streams
// of a registry or engine image until Close.
func OpenContext(ctx context.Context, ref string, opts Options) (*Source, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return OpenReferenceContext(ctx, r, opts)
}

// OpenReference opens an already parsed reference.
func OpenReference(ref Reference, opts Options) (src *Source, err error) {
	return OpenReferenceContext(context.Background(), ref, opts)
}

// OpenReferenceContext opens an already parsed reference.
func OpenReferenceContext(ctx context.Context, ref Reference, opts Options) (src *Source, err error) {
	spec, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	origin := ref.Path
	var (
		format Format
		st     store
	)
	switch ref.Format {
	case FormatRegistry:
		origin = ref.String()
		format = FormatRegistry
		st, err = openRegistryStore(ctx, ref, opts.Registry)
	case FormatDockerDaemon, FormatPodman:
		origin = ref.String()
		format = FormatDockerArchive
		st, err = openEngineStore(ctx, ref, opts.EngineHost, opts.MaxSaveBytes)
	case FormatAuto, FormatOCILayout, FormatOCIArchive, FormatDockerArchive:
		format, st, err = openStore(ref)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if cerr := st.close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	var images []*Image
	// A registry or engine store holds the one image the reference
	// resolved to: its selector is spent.
	sel := ref
	if ref.Remote() {
		sel = Reference{Format: ref.Format, Path: ref.Path, Index: -1}
	}
	switch format {
	case FormatOCILayout, FormatOCIArchive, FormatRegistry:
		lr := &layoutReader{st: st, verify: opts.Verify, origin: origin, format: format}
		images, err = lr.images(sel, spec)
	case FormatDockerArchive:
		dr := &dockerReader{st: st, verify: opts.Verify, origin: origin}
		images, err = dr.images(sel, spec)
	case FormatAuto, FormatDockerDaemon, FormatPodman:
		err = fmt.Errorf("opening %s: format not detected: %w", ref.Path, ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	if ref.Format == FormatRegistry {
		for _, img := range images {
			img.Name = withDefaultTag(ref.Path)
		}
	}
	return &Source{ref: ref, st: st, images: images}, nil
}

// openStore opens the path of ref and settles its format. A bare path is a
// layout directory when it holds oci-layout; a tar holding manifest.json is
// a docker archive even if it also holds an OCI layout (Docker 25+ writes
// both, and only manifest.json carries the repo tags); a tar holding only
// oci-layout is an OCI archive.
func openStore(ref Reference) (Format, store, error) {
	fi, err := os.Stat(ref.Path)
	if err != nil {
		return 0, nil, fmt.Errorf("opening %s: %w", ref.Path, mapNotExist(err))
	}
	if fi.IsDir() {
		switch ref.Format {
		case FormatAuto, FormatOCILayout:
		case FormatOCIArchive, FormatDockerArchive, FormatRegistry, FormatDockerDaemon, FormatPodman:
			return 0, nil, fmt.Errorf("opening %s as %s: is a directory: %w", ref.Path, ref.Format, ErrInvalid)
		}
		st, err := openDirStore(ref.Path)
		if err != nil {
			return 0, nil, err
		}
		if ref.Format == FormatAuto && !st.has("oci-layout") {
			err := fmt.Errorf("opening %s: directory without oci-layout: %w", ref.Path, ErrInvalid)
			return 0, nil, errors.Join(err, st.close())
		}
		return FormatOCILayout, st, nil
	}
	if !fi.Mode().IsRegular() {
		return 0, nil, fmt.Errorf("opening %s: not a regular file: %w", ref.Path, ErrInvalid)
	}
	switch ref.Format {
	case FormatAuto, FormatOCIArchive, FormatDockerArchive:
	case FormatOCILayout, FormatRegistry, FormatDockerDaemon, FormatPodman:
		return 0, nil, fmt.Errorf("opening %s as oci: not a directory (use oci-archive:): %w", ref.Path, ErrInvalid)
	}
	st, err := openTarStore(ref.Path)
	if err != nil {
		return 0, nil, err
	}
	format := ref.Format
	if format == FormatAuto {
		switch {
		case st.has("manifest.json"):
			format = FormatDockerArchive
		case st.has("oci-layout"):
			format = FormatOCIArchive
		default:
			err := fmt.Errorf("opening %s: archive holds neither manifest.json nor oci-layout: %w", ref.Path, ErrInvalid)
			return 0, nil, errors.Join(err, st.close())
		}
	}
	return format, st, nil
}

// Images returns the selected images: one, or one per platform with
// Options.Platform "all".
func (s *Source) Images() []*Image { return s.images }

// Reference returns the reference the source was opened with.
func (s *Source) Reference() Reference { return s.ref }

// Close releases the archive file or layout directory. Streams still open
// fail afterwards.
func (s *Source) Close() error {
	if err := s.st.close(); err != nil {
		return fmt.Errorf("closing %s: %w", s.ref, err)
	}
	return nil
}

// withDefaultTag returns a name with ":latest" added when it has neither a
// tag nor a digest.
func withDefaultTag(n string) string {
	last := n[strings.LastIndex(n, "/")+1:]
	if strings.ContainsAny(last, ":@") {
		return n
	}
	return n + ":latest"
}

// fullName returns the full image name an OCI layout entry's annotations
// give: io.containerd.image.name, else a ref.name that names a repository
// (it holds a "/" or a ":"; a bare "latest" or "v1" is only a tag).
func fullName(ann map[string]string) string {
	if n := ann[annotationContainerdName]; n != "" {
		return n
	}
	if n := ann[specs.AnnotationRefName]; strings.ContainsAny(n, "/:") {
		return withDefaultTag(n)
	}
	return ""
}
