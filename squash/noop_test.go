package squash_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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
		// Spelled as another tool would (indented, its own key order): the
		// output must still be the same bytes.
		ix := filepath.Join(src, "index.json")
		raw, err := os.ReadFile(ix)
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, raw, "", "   "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ix, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		r := fix(t, src, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
		if !r.outcome.Unchanged {
			t.Error("Unchanged not set")
		}
		// The whole layout: blobs, index.json and oci-layout.
		if d := testsupport.TreeDiff(testsupport.ReadTree(t, src), testsupport.ReadTree(t, r.out)); len(d) > 0 {
			t.Errorf("the output is not the source's files: %v", d)
		}
		if got, want := indexEntry(t, r.out), indexEntry(t, src); got.Digest != want.Digest || got.Platform == nil {
			t.Errorf("entry %+v, source %+v", got, want)
		}
		// Under another name, index.json says something else: it is
		// written anew, the blobs are still the source's.
		r = fix(t, src, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout, Tags: []string{"v2"}})
		if got := indexEntry(t, r.out); got.Annotations[ocispec.AnnotationRefName] != "v2" || got.Platform == nil || got.Annotations["org.example.entry"] != "kept" {
			t.Errorf("entry under a new name: %+v", got)
		}
	})
	t.Run("multi-platform layout", func(t *testing.T) {
		mk := func(arch string) *fixtures.Image {
			img := fixtures.NewImage()
			img.Platform.Architecture = arch
			return img.Add(fixtures.NewLayer().File("a", []byte(arch)))
		}
		ix := fixtures.NewIndex(mk("amd64"), mk("arm64"))
		ix.Annotations = map[string]string{"org.example.index": "kept"}
		src := filepath.Join(t.TempDir(), "src")
		if _, err := ix.WriteOCILayout(src); err != nil {
			t.Fatal(err)
		}
		r, err := tryFix(t, src, "all", squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
		if err != nil || !r.outcome.OK() || !r.outcome.Unchanged {
			t.Fatalf("fix: %v, outcome %+v", err, r)
		}
		if d := testsupport.TreeDiff(testsupport.ReadTree(t, src), testsupport.ReadTree(t, r.out)); len(d) > 0 {
			t.Errorf("the output is not the source's files: %v", d)
		}
	})
	t.Run("in place", func(t *testing.T) {
		src := annotated(t)
		before := testsupport.ReadTree(t, src)
		r := fix(t, src, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputInPlace, Path: src})
		if !r.outcome.Unchanged || len(r.outcome.Kept) != 0 {
			t.Errorf("Unchanged %v, kept %v", r.outcome.Unchanged, r.outcome.Kept)
		}
		after := testsupport.ReadTree(t, src)
		delete(after, squash.LockName)
		delete(before, squash.LockName)
		if d := testsupport.TreeDiff(before, after); len(d) > 0 {
			t.Errorf("the layout changed: %v", d)
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

// TestLoadUnchanged: an image that fix left unchanged is not loaded back
// into the engine it was read from under the name it had (the load would
// send the whole image for nothing); to another engine, or under another
// name, it is.
func TestLoadUnchanged(t *testing.T) {
	t.Parallel()
	var loads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/images/load") {
			http.NotFound(w, r)
			return
		}
		loads.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"stream":"Loaded image: localhost/app:1\n"}`)
	}))
	defer srv.Close()
	host := "tcp://" + srv.Listener.Addr().String()
	for _, forms := range []fixtures.DockerForm{fixtures.DockerClassic, fixtures.DockerOCI} {
		archive := filepath.Join(t.TempDir(), "in.tar")
		if err := fixtures.Sample().WriteDockerArchive(archive, forms, "localhost/app:1"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name         string
			sourceEngine string
			tags         []string
			load         bool
		}{
			{"same engine, same name", host, nil, false},
			{"same engine, the name given again", host, []string{"localhost/app:1"}, false},
			{"same engine, another name", host, []string{"localhost/app:2"}, true},
			{"another engine", "unix:///elsewhere.sock", nil, true},
			{"not from an engine", "", nil, true},
		} {
			before := loads.Load()
			r := fix(t, "docker-archive:"+archive, squash.Options{BaseLayers: 1}, squash.Target{Kind: squash.OutputEngine, Engine: host, SourceEngine: tc.sourceEngine, Tags: tc.tags})
			if !r.outcome.Unchanged {
				t.Fatalf("%v %s: the sample changed", forms, tc.name)
			}
			if loaded := loads.Load() - before; loaded != map[bool]int32{true: 1}[tc.load] || r.outcome.LoadSkipped == tc.load {
				t.Errorf("%v %s: %d loads, LoadSkipped %v; want a load: %v", forms, tc.name, loaded, r.outcome.LoadSkipped, tc.load)
			}
		}
	}
}
