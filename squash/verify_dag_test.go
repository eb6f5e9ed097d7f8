package squash

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/fixtures"
)

// TestValidateLayoutIndexDAG: an in-place fix keeps the layout's other
// index.json entries, which the image's author wrote. One of them may be
// an index listing one index 200 times, which lists another 200 times,
// ...: a few kilobytes naming 200^5 paths. Finding the written image
// under a later entry must read each index once, not walk every path.
func TestValidateLayoutIndexDAG(t *testing.T) {
	dir := t.TempDir()
	w, err := fixtures.NewImage().Add(fixtures.NewLayer().File("a", []byte("x"))).WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(v any) v1.Descriptor {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return v1.Descriptor{MediaType: types.OCIImageIndex, Size: int64(len(b)), Digest: h}
	}
	var target v1.Descriptor
	raw, err := json.Marshal(w.Manifest)
	if err != nil || json.Unmarshal(raw, &target) != nil {
		t.Fatal(err)
	}
	// The bottom index lists a manifest that is not the target.
	d := put(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(make([]byte, 32))},
	}}})
	for range 5 {
		d = put(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: slices.Repeat([]v1.Descriptor{d}, 200)})
	}
	wrapper := put(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{target}})
	top, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d, wrapper}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := validateLayout(dir, target.Digest, nil); err != nil {
		t.Fatal(err)
	}
}
