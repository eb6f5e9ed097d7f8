package squash

import (
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// writeRoot writes the manifest list of several rewritten images (one per
// platform) into sink, or returns the single image's descriptor, and
// returns the descriptor index.json should list. ann goes on that index
// (the source index's annotations).
func writeRoot(sink blobSink, results []*Result, ann map[string]string) (v1.Descriptor, error) {
	if len(results) == 1 {
		// The entry that listed the image keeps its platform and
		// annotations; the names (ref.name, the containerd name) are the
		// output's own, set by tagging.
		d := results[0].Descriptor()
		src := results[0].Source.Descriptor
		d.Platform = src.Platform
		for k, v := range src.Annotations {
			if k == specs.AnnotationRefName || k == annotationContainerdName {
				continue
			}
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			d.Annotations[k] = v
		}
		return d, nil
	}
	mt := types.OCIImageIndex
	if familyOf(results[0].ManifestType) == familyDocker {
		mt = types.DockerManifestList
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: mt, Annotations: ann}
	for _, r := range results {
		idx.Manifests = append(idx.Manifests, r.Descriptor())
	}
	raw, err := marshal(idx)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := putBlob(sink, raw)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing index: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(raw))}, nil
}

// writeLayoutIndex finishes a new OCI layout in dir: oci-layout, then
// index.json listing roots. Blobs must already be in place.
func writeLayoutIndex(fsys fsys, dir string, roots []v1.Descriptor) error {
	if err := writeFileAtomic(fsys, dir, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: roots}
	raw, err := marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(fsys, dir, "index.json", raw)
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
