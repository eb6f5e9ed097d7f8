package source

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Format is the on-disk form of an image.
type Format uint8

// Formats. FormatAuto only appears in a Reference, where it asks Open to
// detect the format from what the path contains; an Image always carries a
// concrete format.
const (
	FormatAuto Format = iota
	FormatOCILayout
	FormatOCIArchive
	FormatDockerArchive
	// FormatRegistry is an image in a registry (registry:REF or
	// docker://REF), read over HTTP.
	FormatRegistry
	// FormatDockerDaemon is an image of a local engine (docker-daemon:NAME),
	// read through its API socket as a docker save stream.
	FormatDockerDaemon
	// FormatPodman is docker-daemon through Podman's socket (podman:NAME).
	FormatPodman
)

// String returns the transport prefix used in references ("oci",
// "oci-archive", "docker-archive"), or "auto".
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatOCILayout:
		return "oci"
	case FormatOCIArchive:
		return "oci-archive"
	case FormatDockerArchive:
		return "docker-archive"
	case FormatRegistry:
		return "registry"
	case FormatDockerDaemon:
		return "docker-daemon"
	case FormatPodman:
		return "podman"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// maxArchiveIndex bounds the docker-archive image index so that a reference
// cannot carry an absurd number.
const maxArchiveIndex = 1 << 20

// Reference names an image on disk. Build it with ParseReference.
//
// Syntax (the transports of skopeo/containers-image):
//
//	oci:DIR[:TAG|@DIGEST]
//	oci-archive:FILE[:TAG|@DIGEST]
//	docker-archive:FILE[:REPO:TAG|:N|:@N]
//	registry:REF | docker://REF   (REF: [HOST[:PORT]/]REPO[:TAG|@DIGEST])
//	docker-daemon:NAME[:TAG|@DIGEST]
//	podman:NAME[:TAG|@DIGEST]
//	PATH                       (format detected from the content)
//
// For registry, docker-daemon and podman, Path holds the REF or NAME as
// given; a missing tag means "latest", as with docker pull. A registry
// reference with Digest set names that manifest in the same repository.
//
// For oci and oci-archive the path ends at the first colon, so it cannot
// contain one unless a digest follows (the digest is recognised from the
// last "@"). For docker-archive the path also ends at the first colon; what
// follows is a repo:tag, or an all-digit image index into manifest.json (a
// repo:tag is never all digits because docker always records the tag).
type Reference struct {
	// Format is FormatAuto for a bare path.
	Format Format
	// Path is the layout directory or archive file.
	Path string
	// Tag selects an OCI layout entry by org.opencontainers.image.ref.name
	// or a docker-archive image by repo:tag.
	Tag string
	// Digest selects an OCI layout manifest (or index) by digest; the zero
	// Hash means unset.
	Digest v1.Hash
	// Index selects a docker-archive image by its position in
	// manifest.json; -1 means unset.
	Index int
}

// ParseReference parses an image reference; see Reference for the syntax.
// It never touches the filesystem.
func ParseReference(s string) (Reference, error) {
	ref := Reference{Index: -1}
	if s == "" {
		return ref, fmt.Errorf("parsing reference: empty: %w", ErrInvalid)
	}
	transport, rest, ok := strings.Cut(s, ":")
	if !ok {
		transport = ""
	}
	switch transport {
	case "oci", "oci-archive":
		ref.Format = FormatOCILayout
		if transport == "oci-archive" {
			ref.Format = FormatOCIArchive
		}
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			if h, err := v1.NewHash(rest[i+1:]); err == nil {
				ref.Path, ref.Digest = rest[:i], h
				break
			}
		}
		path, tag, hasTag := strings.Cut(rest, ":")
		if hasTag && tag == "" {
			return ref, fmt.Errorf("parsing reference %q: empty tag: %w", s, ErrInvalid)
		}
		ref.Path, ref.Tag = path, tag
	case "docker-archive":
		ref.Format = FormatDockerArchive
		path, sel, hasSel := strings.Cut(rest, ":")
		ref.Path = path
		if !hasSel {
			break
		}
		if err := parseArchiveSelector(&ref, s, sel); err != nil {
			return ref, err
		}
	case "registry", "docker", "docker-daemon", "podman":
		ref.Format = map[string]Format{
			"registry": FormatRegistry, "docker": FormatRegistry,
			"docker-daemon": FormatDockerDaemon, "podman": FormatPodman,
		}[transport]
		if transport == "docker" {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, "//"); !ok {
				return ref, fmt.Errorf("parsing reference %q: want docker://REF: %w", s, ErrInvalid)
			}
		}
		if rest == "" {
			return ref, fmt.Errorf("parsing reference %q: empty name: %w", s, ErrInvalid)
		}
		if _, err := name.ParseReference(rest); err != nil {
			return ref, fmt.Errorf("parsing reference %q: %w: %w", s, ErrInvalid, err)
		}
		ref.Path = rest
	default:
		ref.Format = FormatAuto
		ref.Path = s
	}
	if ref.Path == "" {
		return ref, fmt.Errorf("parsing reference %q: empty path: %w", s, ErrInvalid)
	}
	return ref, nil
}

// parseArchiveSelector reads what follows docker-archive:FILE: an image
// index (N or @N) or a REPO:TAG.
func parseArchiveSelector(ref *Reference, s, sel string) error {
	if sel == "" {
		return fmt.Errorf("parsing reference %q: empty image selector: %w", s, ErrInvalid)
	}
	digits := strings.TrimPrefix(sel, "@")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.Atoi(digits)
		if err != nil || n > maxArchiveIndex {
			return fmt.Errorf("parsing reference %q: image index %q out of range: %w", s, digits, ErrInvalid)
		}
		ref.Index = n
		return nil
	}
	if strings.HasPrefix(sel, "@") {
		return fmt.Errorf("parsing reference %q: image index %q is not a number: %w", s, sel, ErrInvalid)
	}
	ref.Tag = sel
	return nil
}

// String formats the reference so that ParseReference returns it unchanged.
func (r Reference) String() string {
	switch r.Format {
	case FormatAuto:
		return r.Path
	case FormatOCILayout, FormatOCIArchive:
		s := r.Format.String() + ":" + r.Path
		switch {
		case r.Digest != (v1.Hash{}):
			s += "@" + r.Digest.String()
		case r.Tag != "":
			s += ":" + r.Tag
		}
		return s
	case FormatDockerArchive:
		s := r.Format.String() + ":" + r.Path
		switch {
		case r.Index >= 0:
			s += ":" + strconv.Itoa(r.Index)
		case r.Tag != "":
			s += ":" + r.Tag
		}
		return s
	case FormatRegistry:
		if r.Digest != (v1.Hash{}) {
			return r.Format.String() + ":" + repositoryOf(r.Path) + "@" + r.Digest.String()
		}
		return r.Format.String() + ":" + r.Path
	case FormatDockerDaemon, FormatPodman:
		return r.Format.String() + ":" + r.Path
	}
	return r.Format.String() + ":" + r.Path
}

// Remote reports whether the reference names an image that is not a file:
// in a registry or a local engine.
func (r Reference) Remote() bool {
	switch r.Format {
	case FormatRegistry, FormatDockerDaemon, FormatPodman:
		return true
	case FormatAuto, FormatOCILayout, FormatOCIArchive, FormatDockerArchive:
	}
	return false
}

// repositoryOf returns REF without its tag or digest.
func repositoryOf(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref
	}
	return r.Context().String()
}
