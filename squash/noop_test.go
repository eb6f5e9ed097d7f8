package squash_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// annotated is a layout whose index.json entry carries a platform and
// annotations besides its tag.
func annotated(t *testing.T) string {
	t.Helper()
	dir := stack(t, wasteful()...)
	if err := testsupport.EditIndexJSON(dir, func(ix *ocispec.Index) {
		ix.Manifests[0].Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
		ix.Manifests[0].Annotations["org.example.entry"] = "kept"
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func indexEntry(t *testing.T, dir string) v1.Descriptor {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, b)
	}
	return idx.Manifests[0]
}

// TestIndexEntryKept: the output's index.json entry keeps the source
// entry's platform and annotations.
func TestIndexEntryKept(t *testing.T) {
	t.Parallel()
	for _, opts := range []squash.Options{{Mode: squash.SquashAll, BaseLayers: 1}, {BaseLayers: 1}} {
		r := fix(t, annotated(t), opts, squash.Target{Kind: squash.OutputLayout})
		d := indexEntry(t, r.out)
		if d.Platform == nil || d.Platform.Architecture != "amd64" || d.Annotations["org.example.entry"] != "kept" || d.Annotations[ocispec.AnnotationRefName] != "v1" {
			t.Errorf("mode %v: entry %+v %+v", opts.Mode, d.Platform, d.Annotations)
		}
	}
}

// TestNothingToDo: a fix that changes nothing writes the source's image
// byte for byte and says so; in place, the layout is left as it was.
func TestNothingToDo(t *testing.T) {
	t.Parallel()
	t.Run("layout", func(t *testing.T) {
		src := annotated(t)
		r := fix(t, src, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
		if !r.outcome.Unchanged {
			t.Error("Unchanged not set")
		}
		before, after := snapshot(t, filepath.Join(src, "blobs")), snapshot(t, filepath.Join(r.out, "blobs"))
		if len(before) != len(after) {
			t.Errorf("%d blobs, source has %d", len(after), len(before))
		}
		for n, b := range before {
			if !bytes.Equal(after[n], b) {
				t.Errorf("blob %s differs", n)
			}
		}
		if got, want := indexEntry(t, r.out), indexEntry(t, src); got.Digest != want.Digest || got.Platform == nil {
			t.Errorf("entry %+v, source %+v", got, want)
		}
	})
	t.Run("in place", func(t *testing.T) {
		src := annotated(t)
		before := snapshot(t, src)
		r := fix(t, src, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputInPlace, Path: src})
		if !r.outcome.Unchanged || len(r.outcome.Kept) != 0 {
			t.Errorf("Unchanged %v, kept %v", r.outcome.Unchanged, r.outcome.Kept)
		}
		after := snapshot(t, src)
		delete(after, "/"+squash.LockName)
		delete(before, "/"+squash.LockName)
		if len(before) != len(after) {
			t.Errorf("%d files, was %d", len(after), len(before))
		}
		for n, b := range before {
			if !bytes.Equal(after[n], b) {
				t.Errorf("%s changed", n)
			}
		}
	})
	t.Run("docker image to an OCI layout is a change", func(t *testing.T) {
		img := fixtures.NewImage()
		img.Family = fixtures.Docker
		img.Add(fixtures.NewLayer().File("a", []byte("a")))
		ref := filepath.Join(t.TempDir(), "src")
		if _, err := img.WriteOCILayout(ref); err != nil {
			t.Fatal(err)
		}
		if r := fix(t, ref, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout}); r.outcome.Unchanged {
			t.Error("media types converted, yet Unchanged")
		}
		if r := fix(t, ref, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout, KeepMediaTypes: true}); !r.outcome.Unchanged {
			t.Error("--keep-media-types and nothing to do, yet changed")
		}
	})
}
