package source

// Hostile image sources: every failure wraps one of the package's
// sentinel errors (so the CLI can map it to an exit code) and names what
// is wrong; nothing is read from outside the layout or archive.

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// sentinels are the errors a reader of a local image returns, wrapped,
// for what is wrong with it.
var sentinels = []error{ErrInvalid, ErrNotFound, ErrAmbiguous, ErrNoMatchingPlatform, ErrDigestMismatch}

// hasSentinel says whether err wraps one of sentinels.
func hasSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// openAndRead opens ref and streams every layer to its end.
func openAndRead(ref string, verify bool) error {
	src, err := Open(ref, Options{Verify: verify, Platform: "all"})
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	for _, img := range src.Images() {
		for _, l := range img.Layers {
			s, err := l.Open(verify)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, s)
			_ = s.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func TestHostileSources(t *testing.T) {
	t.Parallel()
	lt := layerTar(t, "a", "b")
	// secret is outside every layout and archive of the test.
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	if err := os.WriteFile(secret, []byte(`{"schemaVersion":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	layout := func(t *testing.T) (*ociLayout, v1.Descriptor) {
		o := newLayout()
		d := o.image(t, nil, testLayer{tar: lt})
		o.top(t, d)
		return o, d
	}
	tests := []struct {
		name  string
		build func(t *testing.T) string
		err   error
		has   []string
	}{
		{name: "blob symlinked out of the layout", err: ErrInvalid, has: []string{"blobs/sha256/"},
			build: func(t *testing.T) string {
				o, d := layout(t)
				dir := o.files.writeDir(t)
				p := filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(secret, p); err != nil {
					t.Fatal(err)
				}
				return dir
			}},
		{name: "index.json symlinked out of the layout", err: ErrInvalid, has: []string{"index.json"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				dir := o.files.writeDir(t)
				if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../../../../../../../.."+secret, filepath.Join(dir, "index.json")); err != nil {
					t.Fatal(err)
				}
				return dir
			}},
		{name: "digest algorithm that climbs", err: ErrInvalid, has: []string{"index.json"},
			build: func(t *testing.T) string {
				o, d := layout(t)
				d.Digest = v1.Hash{Algorithm: "../../../../../../../../" + strings.TrimPrefix(secretDir, "/"), Hex: "secret"}
				o.top(t, d)
				return o.files.writeDir(t)
			}},
		{name: "index.json is a FIFO", err: ErrInvalid, has: []string{"index.json", "not a regular file"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				dir := o.files.writeDir(t)
				if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
					t.Fatal(err)
				}
				mkfifo(t, filepath.Join(dir, "index.json"))
				return dir
			}},
		{name: "layer blob is a FIFO", err: ErrInvalid, has: []string{"not a regular file"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				dir := o.files.writeDir(t)
				p := filepath.Join(dir, "blobs", "sha256", sha256Hash(lt).Hex)
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				mkfifo(t, p)
				return dir
			}},
		{name: "archive members climb out", err: ErrNotFound, has: []string{"index.json"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				idx := o.files["index.json"]
				delete(o.files, "index.json")
				// A symlink member pointing out of the archive resolves
				// inside it (clamped at its root), where nothing is.
				return o.files.writeTar(t, tfile{name: "index.json", typ: tar.TypeSymlink, link: "../../../../" + secret},
					tfile{name: "../../elsewhere/index.json", body: string(idx)})
			}},
		{name: "archive index.json is a hard link loop", err: ErrInvalid, has: []string{"index.json", "loop"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				delete(o.files, "index.json")
				return o.files.writeTar(t, tfile{name: "index.json", typ: tar.TypeLink, link: "x"}, tfile{name: "x", typ: tar.TypeSymlink, link: "index.json"})
			}},
		{name: "archive index.json is a directory", err: ErrInvalid, has: []string{"index.json", "not a regular file"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				delete(o.files, "index.json")
				return o.files.writeTar(t, tfile{name: "index.json/", typ: tar.TypeDir})
			}},
		{name: "manifest lists a layer twice, once missing", err: ErrNotFound, has: []string{"layer 1 blob", "needed by manifest sha256:"},
			build: func(t *testing.T) string {
				o := newLayout()
				o.top(t, o.image(t, nil, testLayer{tar: lt}, testLayer{tar: layerTar(t, "c", "d"), omit: true}))
				return o.files.writeDir(t)
			}},
		{name: "10k manifests, none an image", err: ErrNotFound, has: []string{"holds no image manifest"},
			build: func(t *testing.T) string {
				o, d := layout(t)
				var ds []v1.Descriptor
				for range 10_000 {
					x := d
					x.MediaType = "application/vnd.example+json"
					ds = append(ds, x)
				}
				o.files["index.json"] = mustJSON(t, v1.IndexManifest{SchemaVersion: 2, Manifests: ds})
				return "oci:" + o.files.writeDir(t) + "@" + d.Digest.String()
			}},
		{name: "descriptor without media type, content not JSON", err: ErrInvalid, has: []string{"needed by index.json"},
			build: func(t *testing.T) string {
				o, _ := layout(t)
				d := o.blob("", []byte("\x00\x01 not json"))
				o.top(t, d)
				return o.files.writeDir(t)
			}},
		// Each index lists the one below it 200 times: 200^4 paths to one
		// image from a few kilobytes. The walk stops at its visit cap (and
		// reads each index once) instead of running for hours.
		{name: "indexes listing one index hundreds of times per level", err: ErrInvalid, has: []string{"more than 65536 descriptors", "index sha256:"},
			build: func(t *testing.T) string {
				o := newLayout()
				d := o.image(t, nil, testLayer{tar: lt})
				for range 4 {
					d = o.index(t, slices.Repeat([]v1.Descriptor{d}, 200)...)
				}
				o.top(t, d)
				return o.files.writeDir(t)
			}},
		// The same without media types: every descriptor's kind is read
		// from its blob, once.
		{name: "indexes without media types listing one index hundreds of times", err: ErrInvalid, has: []string{"more than 65536 descriptors"},
			build: func(t *testing.T) string {
				o := newLayout()
				d := o.image(t, nil, testLayer{tar: lt})
				for range 4 {
					d.MediaType = ""
					d = o.blob("", mustJSON(t, v1.IndexManifest{SchemaVersion: 2, Manifests: slices.Repeat([]v1.Descriptor{d}, 200)}))
				}
				o.top(t, d)
				// A digest found nowhere: find walks the whole graph.
				return "oci:" + o.files.writeDir(t) + "@sha256:" + strings.Repeat("0", 64)
			}},
		// 5,000 tags and a tag that is none of them: the error lists a
		// few, not a line of hundreds of kilobytes.
		{name: "tag not found among thousands", err: ErrNotFound, has: []string{`tag "nope"`, "and 4980 more"},
			build: func(t *testing.T) string {
				o, d := layout(t)
				var ds []v1.Descriptor
				for i := range 5000 {
					ds = append(ds, tagged(d, fmt.Sprintf("t%d", i)))
				}
				o.top(t, ds...)
				return "oci:" + o.files.writeDir(t) + ":nope"
			}},
		{name: "layer media type gzip, content bzip2", err: ErrInvalid, has: []string{"layer 0", "bzip2"},
			build: func(t *testing.T) string {
				o := newLayout()
				o.top(t, o.image(t, nil, testLayer{tar: lt, blob: []byte("BZh91AY&SY garbage"), mt: types.OCILayer}))
				return o.files.writeDir(t)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := openAndRead(tc.build(t), true)
			if !hasSentinel(err) {
				t.Errorf("error without a sentinel: %v", err)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			for _, h := range tc.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("error %q lacks %q", err, h)
				}
			}
			if strings.Contains(err.Error(), `{"schemaVersion":2}`) {
				t.Errorf("error shows the content of a file outside the image: %v", err)
			}
		})
	}
}
