package squash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// annotationRefDigest is the annotation by which Docker's attestation
// manifests name the manifest they attest: a reference that gc must keep,
// or a dangling one it would leave.
const annotationRefDigest = "vnd.docker.reference.digest"

// maxGCDepth bounds the nesting of indexes that gc walks. A deeper layout
// is not collected at all: deleting after a walk that stopped short would
// remove blobs that the deeper manifests still use.
const maxGCDepth = 32

// errIncompleteWalk says gc could not see every reference of the layout,
// so it deleted nothing.
var errIncompleteWalk = errors.New("the walk of the layout could not finish, so nothing was deleted")

// collect removes the blobs that index.json no longer reaches. It first
// walks everything index.json reaches (indexes, manifests, configs,
// layers, subjects, and manifests named by an attestation's
// vnd.docker.reference.digest); any blob on the way that cannot be read,
// a media type whose references are unknown, or nesting deeper than
// maxGCDepth aborts it before anything is deleted.
func (ip *inPlace) collect() error {
	root, err := os.OpenRoot(ip.Dir)
	if err != nil {
		return err
	}
	defer root.Close() //nolint:errcheck // read through it only
	raw, err := root.ReadFile("index.json")
	if err != nil {
		return fmt.Errorf("%w: %w", errIncompleteWalk, err)
	}
	var top refs
	if err := json.Unmarshal(raw, &top); err != nil {
		return fmt.Errorf("%w: index.json: %w", errIncompleteWalk, err)
	}
	m := &marker{root: root, reach: map[string]bool{}}
	for _, d := range top.Manifests {
		if err := m.entry(d, 0); err != nil {
			return fmt.Errorf("%w: index.json entry %s: %w", errIncompleteWalk, d.Digest, err)
		}
	}
	dir := filepath.Join(ip.Dir, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || m.reach[e.Name()] {
			continue
		}
		if err := ip.fs.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refs is what an index or a manifest refers to.
type refs struct {
	MediaType string          `json:"mediaType"`
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Manifests []v1.Descriptor `json:"manifests"`
	Subject   *v1.Descriptor  `json:"subject"`
	Blobs     []v1.Descriptor `json:"blobs"` // artifact manifests
}

// marker marks every blob that the layout's index reaches.
type marker struct {
	root  *os.Root
	reach map[string]bool
}

// entry marks a descriptor listed in an index (or index.json): an index
// or an image manifest, walked; anything else stops the collection.
func (m *marker) entry(d v1.Descriptor, depth int) error {
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
		return fmt.Errorf("descriptor %s has media type %q whose references are unknown", d.Digest, d.MediaType)
	}
	if err := m.walk(d.Digest, depth); err != nil {
		return err
	}
	// An attestation keeps the manifest it attests.
	if ref := d.Annotations[annotationRefDigest]; ref != "" {
		h, err := v1.NewHash(ref)
		if err != nil {
			return fmt.Errorf("descriptor %s: %s %q: %w", d.Digest, annotationRefDigest, ref, err)
		}
		if err := m.walk(h, depth); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err // an absent target was dangling already
		}
	}
	return nil
}

// walk marks the blob h and, when it is an index or a manifest, what it
// refers to. Each blob is read once: shared subtrees cost nothing more.
func (m *marker) walk(h v1.Hash, depth int) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: digest algorithm not supported", h)
	}
	if m.reach[h.Hex] {
		return nil
	}
	if depth > maxGCDepth {
		return fmt.Errorf("indexes nested deeper than %d levels, at %s", maxGCDepth, h)
	}
	m.reach[h.Hex] = true
	r, err := m.read(h)
	if err != nil {
		return err
	}
	for _, d := range r.Manifests {
		// Not wrapped per level: a deep layout would make the message as
		// deep; the error names the blob, collect names the entry.
		if err := m.entry(d, depth+1); err != nil {
			return err
		}
	}
	var leaves []v1.Descriptor
	if r.Config != nil {
		leaves = append(leaves, *r.Config)
	}
	leaves = append(append(leaves, r.Layers...), r.Blobs...)
	for _, d := range leaves {
		if d.Digest.Algorithm != "sha256" {
			return fmt.Errorf("manifest %s: blob %s: digest algorithm not supported", h, d.Digest)
		}
		m.reach[d.Digest.Hex] = true
	}
	if r.Subject != nil {
		if err := m.walk(r.Subject.Digest, depth+1); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("manifest %s: subject: %w", h, err)
		}
	}
	return nil
}

// read reads the JSON blob h (bounded, checked against its digest) and
// what it refers to. A blob that is not JSON has no references.
func (m *marker) read(h v1.Hash) (refs, error) {
	f, err := m.root.Open(path.Join("blobs", h.Algorithm, h.Hex))
	if err != nil {
		return refs{}, fmt.Errorf("blob %s: %w", h, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxJSONBlob+1))
	if err = errors.Join(err, f.Close()); err != nil {
		return refs{}, fmt.Errorf("reading blob %s: %w", h, err)
	}
	if len(b) > maxJSONBlob {
		return refs{}, fmt.Errorf("blob %s: larger than %d bytes, not an index or manifest layerlint reads", h, maxJSONBlob)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != h {
		return refs{}, fmt.Errorf("blob %s: content is %s", h, got)
	}
	var r refs
	if err := json.Unmarshal(b, &r); err != nil {
		return refs{}, fmt.Errorf("blob %s: %w", h, err)
	}
	return r, nil
}
