package source

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

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
	if k, ok := lr.kinds[keyOf(n.desc)]; ok {
		return k, nil
	}
	k, err := lr.probeKind(n)
	if err != nil {
		return 0, err
	}
	if lr.kinds == nil {
		lr.kinds = map[blobKey]descKind{}
	}
	lr.kinds[keyOf(n.desc)] = k
	return k, nil
}

// probeKind reads the blob of n to classify it.
func (lr *layoutReader) probeKind(n node) (descKind, error) {
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
	idx, ok := lr.indexes[keyOf(n.desc)]
	if !ok {
		b, err := lr.readBlob(n.desc, n.parent)
		if err != nil {
			return nil, nil, err
		}
		if idx, err = parseIndex(b); err != nil {
			return nil, nil, fmt.Errorf("index %s in %s: %w", n.desc.Digest, lr.origin, err)
		}
		if lr.indexes == nil {
			lr.indexes = map[blobKey]*v1.IndexManifest{}
		}
		lr.indexes[keyOf(n.desc)] = idx
	}
	out := make([]node, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		out = append(out, node{desc: d, parent: "index " + n.desc.Digest.String(), parentAnn: idx.Annotations, name: n.name, full: n.full})
	}
	return out, idx, nil
}

// leaves appends the image manifests under n, following nested indexes.
func (lr *layoutReader) leaves(n node, depth int, onPath map[v1.Hash]bool, out *[]node) error {
	if err := lr.visit(n); err != nil {
		return err
	}
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
	if err := lr.visit(n); err != nil {
		return nil, err
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

// maxListed bounds the entries an error lists: an index.json of 8 MiB
// can name 60,000 images, which would make the message one line of
// megabytes in a CI log.
const maxListed = 20

// describe lists entries for ambiguity and not-found messages.
func describe(nodes []node) string {
	var parts []string
	for i, n := range nodes {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(nodes)-i))
			break
		}
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
