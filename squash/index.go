package squash

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze/source"
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
	raw, err := marshal(layoutIndex(roots))
	if err != nil {
		return err
	}
	return writeLayoutFiles(fsys, dir, []byte(ociLayoutFile), raw)
}

// ociLayoutFile is the oci-layout file layerlint writes.
const ociLayoutFile = `{"imageLayoutVersion":"1.0.0"}`

func layoutIndex(roots []v1.Descriptor) v1.IndexManifest {
	return v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: roots}
}

// writeLayoutFiles writes oci-layout, then index.json, into dir.
func writeLayoutFiles(fsys fsys, dir string, layout, index []byte) error {
	if err := writeFileAtomic(fsys, dir, "oci-layout", layout); err != nil {
		return err
	}
	return writeFileAtomic(fsys, dir, "index.json", index)
}

// sourceLayoutFiles returns the oci-layout and index.json of the source
// layout ref when they say what layerlint would write for roots
// (writeLayoutIndex), so that a fix that changed nothing can copy them
// byte for byte and leave an output identical to its input, rather than
// the same content spelled another way (key order, spaces). ok is false
// when ref is not a layout directory or its files say something else (it
// lists other images, other names, or fields layerlint does not write).
func sourceLayoutFiles(ref source.Reference, roots []v1.Descriptor) (layout, index []byte, ok bool, err error) {
	if ref.Format != source.FormatOCILayout && ref.Format != source.FormatAuto {
		return nil, nil, false, nil
	}
	root, err := os.OpenRoot(ref.Path)
	if err != nil {
		return nil, nil, false, nil //nolint:nilerr // not a layout directory: nothing to copy
	}
	defer root.Close() //nolint:errcheck // read-only
	read := func(name string) ([]byte, error) {
		f, err := root.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close() //nolint:errcheck // read-only
		return io.ReadAll(io.LimitReader(f, maxJSONBlob+1))
	}
	layout, lerr := read("oci-layout")
	index, ierr := read("index.json")
	if lerr != nil || ierr != nil || len(layout) > maxJSONBlob || len(index) > maxJSONBlob {
		return nil, nil, false, nil //nolint:nilerr // not readable as the source was: write our own
	}
	ours, err := marshal(layoutIndex(roots))
	if err != nil {
		return nil, nil, false, err
	}
	// Compared as generic JSON, so that key order, spaces and escapes do
	// not count and every field does (one layerlint would drop too).
	var gotIndex, wantIndex, gotLayout, wantLayout any
	if json.Unmarshal(index, &gotIndex) != nil || json.Unmarshal(layout, &gotLayout) != nil ||
		json.Unmarshal(ours, &wantIndex) != nil || json.Unmarshal([]byte(ociLayoutFile), &wantLayout) != nil {
		return nil, nil, false, nil
	}
	if m, isMap := gotIndex.(map[string]any); isMap {
		if _, has := m["mediaType"]; !has {
			// Optional in index.json: its absence says the same.
			delete(wantIndex.(map[string]any), "mediaType") //nolint:forcetypeassert // marshalled from a struct
		}
	}
	return layout, index, reflect.DeepEqual(gotIndex, wantIndex) && reflect.DeepEqual(gotLayout, wantLayout), nil
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
