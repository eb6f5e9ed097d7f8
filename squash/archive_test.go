package squash_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// archiveFiles reads every member of a tar.
func archiveFiles(t *testing.T, p string) (map[string][]byte, []string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read-only
	files := map[string][]byte{}
	var order []string
	for h, tr := range testsupport.TarEntries(t, f) {
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
		order = append(order, h.Name)
	}
	return files, order
}

type archiveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// TestDockerArchiveOutput: what docker save writes. Every layer is
// uncompressed (a docker save source keeps its plain layers, and the
// squashed one is plain too, so a reader that takes the first layer's
// compression for all is right); RepoTags; repositories; and the same tar
// is an OCI layout (Docker 25+).
func TestDockerArchiveOutput(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage()
	for _, l := range wasteful() {
		img.Add(l)
	}
	src := filepath.Join(t.TempDir(), "save.tar")
	if err := img.WriteDockerArchive(src, fixtures.DockerClassic, "example.com/team/app:1"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	fix(t, "docker-archive:"+src, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputDockerArchive, Path: out})
	files, order := archiveFiles(t, out)
	var m []archiveEntry
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || len(m) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	if !slices.Equal(m[0].RepoTags, []string{"example.com/team/app:1"}) {
		t.Errorf("RepoTags %v", m[0].RepoTags)
	}
	if len(m[0].Layers) != 2 {
		t.Fatalf("layers %v", m[0].Layers)
	}
	for _, l := range m[0].Layers {
		b := files[l]
		if len(b) < 2 || b[0] == 0x1f && b[1] == 0x8b {
			t.Errorf("layer %s is not an uncompressed tar", l)
		}
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal(files["repositories"], &repos); err != nil {
		t.Fatalf("repositories: %v", err)
	}
	if top := repos["example.com/team/app"]["1"]; "blobs/sha256/"+top != m[0].Layers[1] {
		t.Errorf("repositories %v, top layer %s", repos, m[0].Layers[1])
	}
	for _, n := range []string{"oci-layout", "index.json"} {
		if files[n] == nil {
			t.Errorf("no %s", n)
		}
	}
	for i, n := range order {
		if strings.HasPrefix(n, "blobs/sha256/") && len(n) > len("blobs/sha256/") && i > slices.Index(order, "index.json") {
			t.Errorf("blob %s after index.json", n)
		}
	}
	// The tar read as an OCI archive: the same image.
	a := analyzeAll(t, "oci-archive:"+out+":1", "", 1)[0]
	b := analyzeAll(t, "docker-archive:"+out, "", 1)[0]
	if a.Image.ManifestDigest != b.Image.ManifestDigest || a.Image.Name != "example.com/team/app:1" {
		t.Errorf("oci-archive %s (%q) vs docker-archive %s", a.Image.ManifestDigest, a.Image.Name, b.Image.ManifestDigest)
	}
}

// TestArchiveTags: the RepoTags come from the image's repository and tag,
// never from a layout's bare tag ("latest:latest").
func TestArchiveTags(t *testing.T) {
	t.Parallel()
	layout := func(t *testing.T, ann map[string]string) string {
		dir := stack(t, wasteful()...)
		if err := testsupport.EditIndexJSON(dir, func(ix *ocispec.Index) {
			ix.Manifests[0].Annotations = ann
		}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
		tags []string
		want []string
		err  string
	}{
		{name: "bare tag only", ann: map[string]string{ocispec.AnnotationRefName: "latest"}, err: "only the tag \"latest\""},
		{name: "no name", err: "no name"},
		{name: "containerd name", ann: map[string]string{ocispec.AnnotationRefName: "2", "io.containerd.image.name": "docker.io/library/app:2"}, want: []string{"app:2"}},
		{name: "full ref.name", ann: map[string]string{ocispec.AnnotationRefName: "127.0.0.1:5000/app:3"}, want: []string{"127.0.0.1:5000/app:3"}},
		{name: "repository only", ann: map[string]string{ocispec.AnnotationRefName: "example.com/app"}, want: []string{"example.com/app:latest"}},
		{name: "--tag overrides", ann: map[string]string{ocispec.AnnotationRefName: "latest"}, tags: []string{"app:9", "docker.io/x/y:1"}, want: []string{"app:9", "x/y:1"}},
		{name: "bad tag", tags: []string{"App:!"}, err: "App:!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := "oci:" + layout(t, tc.ann)
			src, err := source.Open(ref, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close() //nolint:errcheck // test
			out := filepath.Join(t.TempDir(), "out.tar")
			tg := squash.Target{Kind: squash.OutputDockerArchive, Path: out, Tags: tc.tags, Source: src.Reference()}
			err = squash.CheckTarget(tg, src.Images())
			if tc.err != "" {
				if !errors.Is(err, squash.ErrBadPlan) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want ErrBadPlan with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, tg)
			files, _ := archiveFiles(t, out)
			var m []archiveEntry
			if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m[0].RepoTags, tc.want) {
				t.Errorf("RepoTags %v, want %v", m[0].RepoTags, tc.want)
			}
		})
	}
}

// TestArchiveDeterministic: the same run twice, the same bytes.
func TestArchiveDeterministic(t *testing.T) {
	t.Parallel()
	ref := stack(t, wasteful()...)
	var got [][]byte
	for range 2 {
		out := filepath.Join(t.TempDir(), "out.tar")
		fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputDockerArchive, Path: out, Tags: []string{"app:1"}})
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Error("two runs wrote different archives")
	}
}
