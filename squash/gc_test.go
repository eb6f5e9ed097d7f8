package squash_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/squash"
)

// Issue 9, "data that must not be lost": fix --in-place --gc deletes only
// blobs that nothing in the layout reaches any more.

// putBlob writes data into the layout's blob store.
func putBlob(t *testing.T, layout string, mt types.MediaType, data []byte) v1.Descriptor {
	t.Helper()
	h, n, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layout, "blobs", "sha256", h.Hex), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setIndexJSON rewrites the layout's index.json to list descs.
func setIndexJSON(t *testing.T, layout string, descs []v1.Descriptor) {
	t.Helper()
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}
	if err := os.WriteFile(filepath.Join(layout, "index.json"), mustJSON(t, idx), 0o644); err != nil {
		t.Fatal(err)
	}
}

func indexJSON(t *testing.T, layout string) []v1.Descriptor {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx.Manifests
}

// otherImage adds to layout the blobs of another image and returns its
// manifest's descriptor and every digest it uses.
func otherImage(t *testing.T, layout string) (v1.Descriptor, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "other")
	img := fixtures.NewImage().Add(fixtures.NewLayer().File("other", bytesOf("o", 700)))
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(layout, "blobs", "sha256", e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
	}
	return indexJSON(t, dir)[0], names
}

func missingBlobs(layout string, names []string) []string {
	var out []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(layout, "blobs", "sha256", n)); err != nil {
			out = append(out, n)
		}
	}
	return out
}

// Another image of the layout, under indexes nested deeper than a walk
// limit, keeps its blobs: a walk that can reach them does, and one that
// cannot aborts the collection, saying so.
func TestGCKeepsDeeplyNestedImages(t *testing.T) {
	t.Parallel()
	for _, levels := range []int{10, 40} {
		t.Run(fmt.Sprintf("%d levels", levels), func(t *testing.T) {
			ref := stack(t, confinedLayers()...)
			d, names := otherImage(t, ref)
			for range levels {
				d = putBlob(t, ref, types.OCIImageIndex, mustJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}}))
				names = append(names, d.Digest.Hex)
			}
			d.Annotations = map[string]string{"org.opencontainers.image.ref.name": "deep"}
			setIndexJSON(t, ref, append(indexJSON(t, ref), d))
			_, err := tryFix(t, "oci:"+ref+":v1", "", squashAll, squash.Target{Kind: squash.OutputInPlace, Path: ref, GC: true})
			if levels > 32 {
				if err == nil || !strings.Contains(err.Error(), "nothing was deleted") || !strings.Contains(err.Error(), "nested deeper") || len(err.Error()) > 500 {
					t.Errorf("gc over %d nested indexes: %v, want an aborted collection saying why", levels, err)
				}
			} else if err != nil {
				t.Fatalf("gc: %v", err)
			}
			if m := missingBlobs(ref, names); len(m) > 0 {
				t.Errorf("gc deleted %d blobs of the nested image: %v", len(m), m)
			}
		})
	}
}

// An attestation manifest names the manifest it attests by annotation:
// after an in-place fix, with or without gc, every such name still
// resolves in the layout.
func TestGCAttestations(t *testing.T) {
	t.Parallel()
	for _, gc := range []bool{false, true} {
		t.Run(map[bool]string{false: "kept", true: "gc"}[gc], func(t *testing.T) {
			ref := stack(t, confinedLayers()...)
			img := indexJSON(t, ref)[0]
			img.Annotations = nil
			img.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
			cfg := putBlob(t, ref, types.OCIConfigJSON, []byte(`{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}`))
			stmt := putBlob(t, ref, "application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v0.1"}`))
			att := putBlob(t, ref, types.OCIManifestSchema1, mustJSON(t, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: []v1.Descriptor{stmt}}))
			att.Platform = &v1.Platform{OS: "unknown", Architecture: "unknown"}
			att.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": img.Digest.String()}
			top := putBlob(t, ref, types.OCIImageIndex, mustJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{img, att}}))
			top.Annotations = map[string]string{"org.opencontainers.image.ref.name": "v1"}
			setIndexJSON(t, ref, []v1.Descriptor{top})

			r, err := tryFix(t, ref, "linux/amd64", squashAll, squash.Target{Kind: squash.OutputInPlace, Path: ref, GC: gc})
			if err != nil || !r.outcome.OK() {
				t.Fatalf("fix: %v", err)
			}
			checkReferences(t, ref)
		})
	}
}

// checkReferences walks the layout from index.json and fails on any
// descriptor, or vnd.docker.reference.digest, whose blob is missing.
func checkReferences(t *testing.T, layout string) {
	t.Helper()
	has := func(h v1.Hash) bool {
		_, err := os.Stat(filepath.Join(layout, "blobs", h.Algorithm, h.Hex))
		return err == nil
	}
	var walk func(descs []v1.Descriptor)
	walk = func(descs []v1.Descriptor) {
		for _, d := range descs {
			if !has(d.Digest) {
				t.Errorf("dangling descriptor %s", d.Digest)
				continue
			}
			if ref := d.Annotations["vnd.docker.reference.digest"]; ref != "" {
				if h, err := v1.NewHash(ref); err != nil || !has(h) {
					t.Errorf("%s attests %s, which the layout does not hold", d.Digest, ref)
				}
			}
			b, err := os.ReadFile(filepath.Join(layout, "blobs", d.Digest.Algorithm, d.Digest.Hex))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case d.MediaType.IsIndex():
				var idx v1.IndexManifest
				if err := json.Unmarshal(b, &idx); err != nil {
					t.Fatal(err)
				}
				walk(idx.Manifests)
			case d.MediaType.IsImage():
				var m v1.Manifest
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
					if !has(l.Digest) {
						t.Errorf("manifest %s: missing blob %s", d.Digest, l.Digest)
					}
				}
			}
		}
	}
	walk(indexJSON(t, layout))
}
