package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Limits on untrusted input.
const (
	// maxJSONSize caps index, manifest, config and manifest.json reads.
	maxJSONSize = 8 << 20
	// maxIndexDepth caps the nesting of image indexes.
	maxIndexDepth = 8
	// maxBlobSize is the largest layer size believed (1 TiB).
	maxBlobSize = 1 << 40
)

// Annotation keys read besides the image-spec ones.
const (
	annotationContainerdName = "io.containerd.image.name"
	// annotationDockerRefType marks buildx attestation manifests, which sit
	// in an index next to the platform images but are not images to lint.
	annotationDockerRefType = "vnd.docker.reference.type"
)

// layoutReader implements the OCI image layout (image-spec
// image-layout.md) once, over any store: a directory, an OCI archive, or the
// layout inside a Docker 25+ archive.
type layoutReader struct {
	st     store
	verify bool
	origin string // path of the layout, for error messages
	format Format

	// The graph of indexes is a DAG that an image may make exponential
	// (an index listing one index a thousand times, which lists another a
	// thousand times, ...): every blob of it is read and parsed once
	// (kinds, indexes), and the walks of one open visit at most
	// maxWalkVisits descriptors in all.
	visits  int
	kinds   map[blobKey]descKind
	indexes map[blobKey]*v1.IndexManifest
}

// blobKey names a blob as a descriptor does: the size is part of it, so
// that a descriptor of the same digest and another size is still checked.
type blobKey struct {
	digest v1.Hash
	size   int64
}

func keyOf(d v1.Descriptor) blobKey { return blobKey{d.Digest, d.Size} }

// maxWalkVisits bounds the descriptors the walks of one open visit, each
// index counted as often as it is reached: far above any real layout or
// registry index (a few hundred), far below a graph that lists one index
// a thousand times at each of several levels.
const maxWalkVisits = 1 << 16

// visit counts one descriptor reached by a walk.
func (lr *layoutReader) visit(n node) error {
	lr.visits++
	if lr.visits > maxWalkVisits {
		return fmt.Errorf("%s in %s: the indexes list more than %d descriptors in all (each nested index counted as often as it is listed): %w",
			n.parent, lr.origin, maxWalkVisits, ErrInvalid)
	}
	return nil
}

// descKind classifies a descriptor found in an index.
type descKind uint8

const (
	kindManifest descKind = iota + 1
	kindIndex
	kindOther // an artifact, a schema1 manifest: nothing to open
)

// node is a manifest or index descriptor with where it was found.
type node struct {
	desc v1.Descriptor
	// parent names what listed it ("index.json", "index sha256:…").
	parent string
	// parentAnn are the annotations of the listing index.
	parentAnn map[string]string
	// name is the ref name of the top-level index.json entry it is under.
	name string
	// full is the full image name of that entry (see Image.Name).
	full string
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// readBlob reads the small JSON blob d, which neededBy refers to.
func (lr *layoutReader) readBlob(d v1.Descriptor, neededBy string) ([]byte, error) {
	if err := checkDescriptor(d, maxJSONSize); err != nil {
		return nil, fmt.Errorf("%s in %s: %w", neededBy, lr.origin, err)
	}
	b, err := readFile(lr.st, blobPath(d.Digest))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s needed by %s in %s: %w", d.Digest, neededBy, lr.origin, err)
	}
	if lr.verify {
		if int64(len(b)) != d.Size {
			return nil, fmt.Errorf("blob %s needed by %s in %s: size %d, descriptor says %d: %w",
				d.Digest, neededBy, lr.origin, len(b), d.Size, ErrDigestMismatch)
		}
		got, err := digestOf(d.Digest, b)
		if err != nil {
			return nil, err
		}
		if !sameHash(got, d.Digest) {
			return nil, fmt.Errorf("blob %s needed by %s in %s: content has digest %s: %w",
				d.Digest, neededBy, lr.origin, got, ErrDigestMismatch)
		}
	}
	return b, nil
}

// readIndexJSON checks oci-layout and parses index.json.
func (lr *layoutReader) readIndexJSON() (*v1.IndexManifest, error) {
	b, err := readFile(lr.st, specs.ImageLayoutFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s of %s: %w", specs.ImageLayoutFile, lr.origin, err)
	}
	var layout specs.ImageLayout
	if err := json.Unmarshal(b, &layout); err != nil {
		return nil, fmt.Errorf("parsing %s of %s: %w: %w", specs.ImageLayoutFile, lr.origin, ErrInvalid, err)
	}
	if !strings.HasPrefix(layout.Version, "1.") {
		return nil, fmt.Errorf("%s of %s: unsupported imageLayoutVersion %q: %w", specs.ImageLayoutFile, lr.origin, layout.Version, ErrInvalid)
	}
	b, err = readFile(lr.st, "index.json")
	if err != nil {
		return nil, fmt.Errorf("reading index.json of %s: %w", lr.origin, err)
	}
	idx, err := parseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("index.json of %s: %w", lr.origin, err)
	}
	return idx, nil
}

// images opens the images ref selects.
func (lr *layoutReader) images(ref Reference, spec platformSpec) ([]*Image, error) {
	idx, err := lr.readIndexJSON()
	if err != nil {
		return nil, err
	}
	roots, err := lr.roots(idx, ref)
	if err != nil {
		return nil, err
	}
	var all []node
	for _, r := range roots {
		if err := lr.leaves(r, 1, map[v1.Hash]bool{}, &all); err != nil {
			return nil, err
		}
	}
	chosen, err := lr.choose(all, spec)
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(chosen))
	for _, n := range chosen {
		img, err := lr.load(n, true)
		if err != nil {
			return nil, err
		}
		if spec.conflicts(img.Platform) {
			return nil, fmt.Errorf("%s: image %s is %s, not the requested %s: %w",
				lr.origin, img.ManifestDigest, platformString(img.Platform), spec.want.String(), ErrNoMatchingPlatform)
		}
		out = append(out, img)
	}
	return out, nil
}

// load reads the manifest and config of n; withLayers also builds the
// layers, which checks that their blobs are present.
func (lr *layoutReader) load(n node, withLayers bool) (*Image, error) {
	raw, err := lr.readBlob(n.desc, n.parent)
	if err != nil {
		return nil, err
	}
	what := "manifest " + n.desc.Digest.String()
	m, err := parseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", what, lr.origin, err)
	}
	rawCfg, err := lr.readBlob(m.Config, what)
	if err != nil {
		return nil, err
	}
	cfg, err := parseConfig(rawCfg)
	if err != nil {
		return nil, fmt.Errorf("config %s of %s in %s: %w", m.Config.Digest, what, lr.origin, err)
	}
	mt := m.MediaType
	if mt == "" {
		mt = n.desc.MediaType
	}
	img := &Image{
		Ref:               n.name,
		Name:              n.full,
		Descriptor:        n.desc,
		Format:            lr.format,
		ManifestDigest:    n.desc.Digest,
		ManifestMediaType: mt,
		RawManifest:       raw,
		Manifest:          m,
		Config:            cfg,
		RawConfig:         rawCfg,
		ConfigDigest:      m.Config.Digest,
		Platform:          n.desc.Platform,
		Annotations:       m.Annotations,
		IndexAnnotations:  n.parentAnn,
	}
	if img.Platform == nil {
		img.Platform = configPlatform(cfg)
	}
	if !withLayers {
		return img, nil
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%s in %s: %d layers but config %s has %d diff_ids: %w",
			what, lr.origin, len(m.Layers), m.Config.Digest, len(cfg.RootFS.DiffIDs), ErrInvalid)
	}
	for i, d := range m.Layers {
		l, err := lr.layer(i, d, cfg.RootFS.DiffIDs[i], what)
		if err != nil {
			return nil, err
		}
		img.Layers = append(img.Layers, l)
	}
	return img, nil
}

// layer describes layer i of a manifest, checking that its blob exists.
func (lr *layoutReader) layer(i int, d v1.Descriptor, diffID v1.Hash, what string) (*Layer, error) {
	if err := checkDescriptor(d, maxBlobSize); err != nil {
		return nil, fmt.Errorf("layer %d of %s in %s: %w", i, what, lr.origin, err)
	}
	_, foreign, ok := ClassifyLayerMediaType(d.MediaType)
	if !ok {
		return nil, fmt.Errorf("layer %d (%s) of %s in %s: media type %q is not a layer: %w",
			i, d.Digest, what, lr.origin, d.MediaType, ErrInvalid)
	}
	l := &Layer{
		Index: i, Digest: d.Digest, DiffID: diffID, MediaType: d.MediaType, Size: d.Size,
		Annotations: d.Annotations, URLs: d.URLs,
		st: lr.st, blob: blobPath(d.Digest), manifest: what,
	}
	size, err := lr.st.stat(l.blob)
	switch {
	case errors.Is(err, ErrNotFound) && foreign:
		l.Missing = true
		l.MissingReason = fmt.Sprintf("non-distributable layer %s is not in the image (urls: %s)", d.Digest, strings.Join(d.URLs, " "))
	case err != nil:
		return nil, fmt.Errorf("layer %d blob %s needed by %s in %s: %w", i, d.Digest, what, lr.origin, err)
	case lr.verify && size != d.Size:
		return nil, fmt.Errorf("layer %d blob %s needed by %s in %s: size %d, descriptor says %d: %w",
			i, d.Digest, what, lr.origin, size, d.Size, ErrDigestMismatch)
	}
	return l, nil
}
