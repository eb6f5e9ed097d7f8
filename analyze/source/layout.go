package source

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// readCapped reads all of r, failing beyond limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes: %w", limit, ErrInvalid)
	}
	return b, nil
}

// readFile reads a small JSON file of the store.
func readFile(st store, name string) (b []byte, err error) {
	rc, _, err := st.open(name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return readCapped(rc, maxJSONSize)
}

// checkDescriptor rejects descriptors that cannot name a blob of at most
// limit bytes.
func checkDescriptor(d v1.Descriptor, limit int64) error {
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" {
		return fmt.Errorf("descriptor without digest: %w", ErrInvalid)
	}
	if d.Size < 0 || d.Size > limit {
		return fmt.Errorf("descriptor %s: size %d out of range [0, %d]: %w", d.Digest, d.Size, limit, ErrInvalid)
	}
	return nil
}

// digestOf hashes b with the algorithm of want.
func digestOf(want v1.Hash, b []byte) (v1.Hash, error) {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest %s: %w: %w", want, ErrInvalid, err)
	}
	h.Write(b)
	return v1.Hash{Algorithm: want.Algorithm, Hex: fmt.Sprintf("%x", h.Sum(nil))}, nil
}

func sameHash(a, b v1.Hash) bool {
	return a.Algorithm == b.Algorithm && subtle.ConstantTimeCompare([]byte(a.Hex), []byte(b.Hex)) == 1
}

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

func parseIndex(b []byte) (*v1.IndexManifest, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing index: %w: %w", ErrInvalid, err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("index schemaVersion %d, want 2: %w", idx.SchemaVersion, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch idx.MediaType {
	case "", types.OCIImageIndex, types.DockerManifestList:
	default:
		return nil, fmt.Errorf("index has media type %q: %w", idx.MediaType, ErrInvalid)
	}
	return idx, nil
}

func parseManifest(b []byte) (*v1.Manifest, error) {
	m, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w: %w", ErrInvalid, err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion %d, want 2: %w", m.SchemaVersion, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch m.MediaType {
	case "", types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, fmt.Errorf("manifest has media type %q: %w", m.MediaType, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch m.Config.MediaType {
	case types.OCIConfigJSON, types.DockerConfigJSON:
	default:
		return nil, fmt.Errorf("config has media type %q, not an image config: %w", m.Config.MediaType, ErrInvalid)
	}
	return m, nil
}

func parseConfig(b []byte) (*v1.ConfigFile, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w: %w", ErrInvalid, err)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if d.Algorithm == "" {
			return nil, fmt.Errorf("config: empty diff_id: %w", ErrInvalid)
		}
	}
	return cfg, nil
}

func kindOf(mt types.MediaType) descKind {
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch mt {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		return kindManifest
	case types.OCIImageIndex, types.DockerManifestList:
		return kindIndex
	default:
		return kindOther
	}
}

// kind classifies n; a descriptor without a media type (which image-spec
// forbids but older tools wrote) is classified by its content.
func (lr *layoutReader) kind(n node) (descKind, error) {
	if n.desc.MediaType != "" {
		return kindOf(n.desc.MediaType), nil
	}
	b, err := lr.readBlob(n.desc, n.parent)
	if err != nil {
		return 0, err
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return 0, fmt.Errorf("blob %s needed by %s in %s: %w: %w", n.desc.Digest, n.parent, lr.origin, ErrInvalid, err)
	}
	switch {
	case probe.MediaType != "":
		return kindOf(probe.MediaType), nil
	case probe.Manifests != nil:
		return kindIndex, nil
	case probe.Config != nil:
		return kindManifest, nil
	default:
		return kindOther, nil
	}
}

// children reads the index n and returns its entries.
func (lr *layoutReader) children(n node, depth int, onPath map[v1.Hash]bool) ([]node, *v1.IndexManifest, error) {
	if depth >= maxIndexDepth {
		return nil, nil, fmt.Errorf("index %s in %s: nested deeper than %d: %w", n.desc.Digest, lr.origin, maxIndexDepth, ErrInvalid)
	}
	if onPath[n.desc.Digest] {
		return nil, nil, fmt.Errorf("index %s in %s: cycle: %w", n.desc.Digest, lr.origin, ErrInvalid)
	}
	b, err := lr.readBlob(n.desc, n.parent)
	if err != nil {
		return nil, nil, err
	}
	idx, err := parseIndex(b)
	if err != nil {
		return nil, nil, fmt.Errorf("index %s in %s: %w", n.desc.Digest, lr.origin, err)
	}
	out := make([]node, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		out = append(out, node{desc: d, parent: "index " + n.desc.Digest.String(), parentAnn: idx.Annotations, name: n.name, full: n.full})
	}
	return out, idx, nil
}

// leaves appends the image manifests under n, following nested indexes.
func (lr *layoutReader) leaves(n node, depth int, onPath map[v1.Hash]bool, out *[]node) error {
	k, err := lr.kind(n)
	if err != nil {
		return err
	}
	switch k {
	case kindManifest:
		*out = append(*out, n)
	case kindIndex:
		kids, _, err := lr.children(n, depth, onPath)
		if err != nil {
			return err
		}
		onPath[n.desc.Digest] = true
		defer delete(onPath, n.desc.Digest)
		for _, c := range kids {
			if err := lr.leaves(c, depth+1, onPath, out); err != nil {
				return err
			}
		}
	case kindOther:
	}
	return nil
}

// find searches the graph under n for the manifest or index with digest h.
func (lr *layoutReader) find(n node, h v1.Hash, depth int, onPath map[v1.Hash]bool) (*node, error) {
	if n.desc.Digest == h {
		return &n, nil
	}
	k, err := lr.kind(n)
	if err != nil {
		return nil, err
	}
	switch k {
	case kindIndex:
		kids, _, err := lr.children(n, depth, onPath)
		if err != nil {
			return nil, err
		}
		onPath[n.desc.Digest] = true
		defer delete(onPath, n.desc.Digest)
		for _, c := range kids {
			if f, err := lr.find(c, h, depth+1, onPath); err != nil || f != nil {
				return f, err
			}
		}
	case kindManifest, kindOther:
	}
	return nil, nil
}

func refName(ann map[string]string) string {
	if n := ann[specs.AnnotationRefName]; n != "" {
		return n
	}
	return ann[annotationContainerdName]
}

// describe lists entries for ambiguity and not-found messages.
func describe(nodes []node) string {
	var parts []string
	for _, n := range nodes {
		s := n.desc.Digest.String()
		if name := refName(n.desc.Annotations); name != "" {
			s = name + " (" + s + ")"
		}
		if n.desc.Platform != nil {
			s += " " + platformString(n.desc.Platform)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// roots applies the tag or digest of ref to index.json.
func (lr *layoutReader) roots(idx *v1.IndexManifest, ref Reference) ([]node, error) {
	top := make([]node, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		top = append(top, node{desc: d, parent: "index.json", parentAnn: idx.Annotations, name: refName(d.Annotations), full: fullName(d.Annotations)})
	}
	switch {
	case ref.Digest != (v1.Hash{}):
		for _, n := range top {
			f, err := lr.find(n, ref.Digest, 1, map[v1.Hash]bool{})
			if err != nil {
				return nil, err
			}
			if f != nil {
				return []node{*f}, nil
			}
		}
		return nil, fmt.Errorf("digest %s in %s: %w", ref.Digest, lr.origin, ErrNotFound)
	case ref.Tag != "":
		var out []node
		for _, n := range top {
			if n.desc.Annotations[specs.AnnotationRefName] == ref.Tag || n.desc.Annotations[annotationContainerdName] == ref.Tag {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("tag %q in %s (have %s): %w", ref.Tag, lr.origin, describe(top), ErrNotFound)
		}
		return out, nil
	}
	switch len(top) {
	case 0:
		return nil, fmt.Errorf("index.json of %s lists no manifests: %w", lr.origin, ErrNotFound)
	case 1:
		return top, nil
	}
	// index.json may itself act as the multi-platform index (ggcr's layout
	// writer does this): then it is one image and the platform decides.
	platforms := true
	for _, n := range top {
		if n.desc.Platform == nil || kindOf(n.desc.MediaType) != kindManifest {
			platforms = false
		}
	}
	if platforms {
		return top, nil
	}
	return nil, fmt.Errorf("%s holds %d images, select one by tag or digest: %s: %w", lr.origin, len(top), describe(top), ErrAmbiguous)
}

func isAttestation(n node) bool {
	if n.desc.Annotations[annotationDockerRefType] == "attestation-manifest" {
		return true
	}
	p := n.desc.Platform
	return p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}

// choose applies the platform spec to the image manifests found.
func (lr *layoutReader) choose(leaves []node, spec platformSpec) ([]node, error) {
	seen := map[v1.Hash]bool{}
	var cands []node
	for _, n := range leaves {
		if seen[n.desc.Digest] || isAttestation(n) {
			continue
		}
		seen[n.desc.Digest] = true
		cands = append(cands, n)
	}
	switch len(cands) {
	case 0:
		return nil, fmt.Errorf("%s holds no image manifest: %w", lr.origin, ErrNotFound)
	case 1:
		// A single image: the platform is only checked for a conflict,
		// once its config is known.
		return cands, nil
	}
	for i := range cands {
		if cands[i].desc.Platform == nil {
			// Best effort: a descriptor without platform gets the config's.
			// Blobs of other platforms are often absent, so errors only
			// leave the platform unknown.
			if img, err := lr.load(cands[i], false); err == nil {
				cands[i].desc.Platform = img.Platform
			}
		}
	}
	switch spec.mode {
	case platformAll:
		return cands, nil
	case platformHost, platformExplicit:
	}
	for _, n := range cands {
		// Index order is the publisher's order of preference, so the first
		// match wins (as with containerd).
		if spec.matches(n.desc.Platform) {
			return []node{n}, nil
		}
	}
	var avail []string
	for _, n := range cands {
		avail = append(avail, platformString(n.desc.Platform))
	}
	sort.Strings(avail)
	return nil, fmt.Errorf("%s: no image for %s; available: %s: %w", lr.origin, spec, strings.Join(avail, ", "), ErrNoMatchingPlatform)
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
