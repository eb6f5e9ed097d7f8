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
	t.Parallel()
	dir := t.TempDir()
	w, err := fixtures.NewImage().Add(fixtures.NewLayer().File("a", []byte("x"))).WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	var target v1.Descriptor
	raw, err := json.Marshal(w.Manifest)
	if err != nil || json.Unmarshal(raw, &target) != nil {
		t.Fatal(err)
	}
	d := dagIndex(t, dir, 5)
	put := func(v any) v1.Descriptor { return putIndex(t, dir, v) }
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

// TestInPlaceRewriteIndexDAG: an in-place fix rewrites every index.json
// entry (a replaced manifest may be listed anywhere); an entry that lists
// one index 200 times per level is rewritten with each index read once.
func TestInPlaceRewriteIndexDAG(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := fixtures.NewImage().Add(fixtures.NewLayer().File("a", []byte("x"))).WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	d := dagIndex(t, dir, 5)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close() //nolint:errcheck // test
	rw := &rewriter{src: root, replace: map[v1.Hash]v1.Descriptor{}}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var entry map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entry); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := rw.rewrite(entry, 0); err != nil || changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if len(rw.done) != 6 {
		t.Errorf("%d indexes rewritten, want the 6 distinct ones", len(rw.done))
	}
}

// putIndex writes v as an index blob of the layout at dir.
func putIndex(t *testing.T, dir string, v any) v1.Descriptor {
	t.Helper()
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

// dagIndex writes levels indexes above one that lists an absent manifest,
// each listing the one below 200 times, and returns the top one.
func dagIndex(t *testing.T, dir string, levels int) v1.Descriptor {
	t.Helper()
	d := putIndex(t, dir, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(make([]byte, 32))},
	}}})
	for range levels {
		d = putIndex(t, dir, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: slices.Repeat([]v1.Descriptor{d}, 200)})
	}
	return d
}
