package source

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/internal/testsupport"
)

// TestDockerArchive covers `docker save` tarballs: the classic form with a
// layer stored as a symlink to an identical earlier one, several images
// chosen by repo:tag or index.
func TestDockerArchive(t *testing.T) {
	t.Parallel()
	base := layerTar(t, "bin/sh", "shell")
	same := layerTar(t, "etc/x", "1")
	top := layerTar(t, "etc/y", "2")
	build := func(t *testing.T) string {
		d := newDockerArchive()
		// Layers 1 and 2 are identical: the second is a symlink.
		d.image(t, []string{"example.com/app:1.0", "app:latest"}, testLayer{tar: base}, testLayer{tar: same}, testLayer{tar: same}, testLayer{tar: top})
		d.image(t, []string{"other:v2"}, testLayer{tar: base})
		if len(d.links) != 1 {
			t.Fatalf("want one symlinked layer, have %v", d.links)
		}
		return d.write(t)
	}
	tests := []struct {
		name   string
		sel    string
		layers int
		ref    string
		err    error
		errHas []string
	}{
		{name: "by repo:tag", sel: ":example.com/app:1.0", layers: 4, ref: "example.com/app:1.0"},
		{name: "by normalised tag", sel: ":app", layers: 4, ref: "app:latest"},
		{name: "by second tag", sel: ":other:v2", layers: 1, ref: "other:v2"},
		{name: "by index", sel: ":1", layers: 1, ref: "other:v2"},
		{name: "by skopeo index", sel: ":@0", layers: 4, ref: "example.com/app:1.0"},
		{name: "index out of range", sel: ":7", err: ErrNotFound, errHas: []string{"image 7", "other:v2"}},
		{name: "tag not found", sel: ":nope:1", err: ErrNotFound, errHas: []string{"nope:1", "0: example.com/app:1.0 app:latest"}},
		{name: "ambiguous", err: ErrAmbiguous, errHas: []string{"0: example.com/app:1.0", "1: other:v2"}},
	}
	p := build(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open("docker-archive:"+p+tc.sel, Options{Verify: true})
			if tc.err != nil {
				wantErr(t, err, tc.err, tc.errHas...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			img := src.Images()[0]
			if len(img.Layers) != tc.layers || img.Ref != tc.ref || img.Format != FormatDockerArchive {
				t.Fatalf("%d layers ref %q format %v", len(img.Layers), img.Ref, img.Format)
			}
			if img.ManifestMediaType != types.DockerManifestSchema2 || sha256Hash(img.RawManifest) != img.ManifestDigest {
				t.Errorf("synthesised manifest %s %s", img.ManifestMediaType, img.ManifestDigest)
			}
			tars := readAllLayers(t, img, true)
			for i, l := range img.Layers {
				if l.Digest != l.DiffID || l.MediaType != types.DockerUncompressedLayer {
					t.Errorf("layer %d: digest %s diff_id %s type %s", i, l.Digest, l.DiffID, l.MediaType)
				}
				if sha256Hash(tars[i]) != l.DiffID {
					t.Errorf("layer %d content differs", i)
				}
			}
		})
	}
}

func TestDockerArchiveErrors(t *testing.T) {
	t.Parallel()
	lt := layerTar(t, "a", "b")
	tests := []struct {
		name   string
		build  func(t *testing.T) string
		err    error
		errHas []string
	}{
		{
			name: "symlink loop",
			build: func(t *testing.T) string {
				d := newDockerArchive()
				d.image(t, []string{"a:1"}, testLayer{tar: lt, omit: true})
				p := d.manifest[0]["Layers"].([]string)[0]
				d.links = append(d.links, tfile{name: p, typ: tar.TypeSymlink, link: "../loop/layer.tar"},
					tfile{name: "loop/layer.tar", typ: tar.TypeSymlink, link: "../" + p})
				return d.write(t)
			},
			err: ErrInvalid, errHas: []string{"loop"},
		},
		{
			name: "missing layer",
			build: func(t *testing.T) string {
				d := newDockerArchive()
				d.image(t, []string{"a:1"}, testLayer{tar: lt, omit: true})
				return d.write(t)
			},
			err: ErrNotFound, errHas: []string{"layer.tar", sha256Hash(lt).String(), "image a:1"},
		},
		{
			name: "malformed manifest.json",
			build: func(t *testing.T) string {
				return files{"manifest.json": []byte(`[{"Config":1}]`)}.writeTar(t)
			},
			err: ErrInvalid, errHas: []string{"manifest.json"},
		},
		{
			name: "empty manifest.json",
			build: func(t *testing.T) string {
				return files{"manifest.json": []byte(`[]`)}.writeTar(t)
			},
			err: ErrInvalid,
		},
		{
			name: "corrupt config",
			build: func(t *testing.T) string {
				d := newDockerArchive()
				d.image(t, []string{"a:1"}, testLayer{tar: lt})
				name := d.manifest[0]["Config"].(string)
				d.files[name] = append(d.files[name], ' ')
				return d.write(t)
			},
			err: ErrDigestMismatch, errHas: []string{".json"},
		},
		{
			name: "foreign layer absent is Missing",
			build: func(t *testing.T) string {
				d := newDockerArchive()
				d.image(t, []string{"a:1"}, testLayer{tar: lt, omit: true})
				diff := sha256Hash(lt)
				d.manifest[0]["LayerSources"] = map[string]v1.Descriptor{diff.String(): {
					MediaType: types.DockerForeignLayer, Size: 10, Digest: sha256Hash([]byte("x")), URLs: []string{"https://example.invalid/l"},
				}}
				return d.write(t)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(tc.build(t), Options{Verify: true})
			if tc.err != nil {
				wantErr(t, err, tc.err, tc.errHas...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			l := src.Images()[0].Layers[0]
			if !l.Missing || l.MediaType != types.DockerForeignLayer || len(l.URLs) != 1 {
				t.Fatalf("layer %+v", l)
			}
		})
	}
}

// docker25 builds what Docker 25+ `docker save` writes: an OCI layout plus
// manifest.json pointing into blobs/. The second layer is gzip-compressed,
// so its digest differs from its diff_id.
func docker25(t *testing.T, l1, l2 []byte) (files, v1.Descriptor) {
	o := newLayout()
	d := o.image(t, nil, testLayer{tar: l1}, testLayer{tar: l2, blob: gz(t, l2), mt: types.OCILayer})
	o.top(t, tagged(d, "app:1"))
	var m v1.Manifest
	if err := json.Unmarshal(o.files["blobs/sha256/"+d.Digest.Hex], &m); err != nil {
		t.Fatal(err)
	}
	mj := []map[string]any{{
		"Config":   "blobs/sha256/" + m.Config.Digest.Hex,
		"RepoTags": []string{"app:1"},
		"Layers":   []string{"blobs/sha256/" + m.Layers[0].Digest.Hex, "blobs/sha256/" + m.Layers[1].Digest.Hex},
	}}
	o.files["manifest.json"] = mustJSON(t, mj)
	return o.files, d
}

func TestDocker25(t *testing.T) {
	t.Parallel()
	l1, l2 := layerTar(t, "a", "1"), layerTar(t, "b", "2")
	fs, d := docker25(t, l1, l2)
	p := fs.writeTar(t)
	// A bare path holding both manifest.json and oci-layout is a docker
	// archive: only manifest.json has the repo tags.
	src, err := Open(p, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	img := src.Images()[0]
	if img.Format != FormatDockerArchive || img.Ref != "app:1" || img.ManifestDigest != d.Digest {
		t.Fatalf("format %v ref %q manifest %s, want docker-archive app:1 %s", img.Format, img.Ref, img.ManifestDigest, d.Digest)
	}
	ls := img.Layers
	if ls[1].MediaType != types.OCILayer || ls[1].Digest == ls[1].DiffID {
		t.Fatalf("compressed layer %s %s %s", ls[1].MediaType, ls[1].Digest, ls[1].DiffID)
	}
	tars := readAllLayers(t, img, true)
	if !bytes.Equal(tars[0], l1) || !bytes.Equal(tars[1], l2) {
		t.Fatal("layer content differs")
	}

	// Forced oci-archive reads the same tar through its layout.
	src2, err := Open("oci-archive:"+p+":app:1", Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src2)
	if img := src2.Images()[0]; img.Format != FormatOCIArchive || img.ManifestDigest != d.Digest {
		t.Fatalf("as oci-archive: %v %s", img.Format, img.ManifestDigest)
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	lt := layerTar(t, "a", "b")
	o := newLayout()
	o.top(t, o.image(t, nil, testLayer{tar: lt}))
	d := newDockerArchive()
	d.image(t, []string{"x:1"}, testLayer{tar: lt})
	fs, _ := docker25(t, lt, lt)
	notImage := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(notImage, layerTar(t, "hello", "world"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want Format
		err  error
	}{
		{"layout dir", o.files.writeDir(t), FormatOCILayout, nil},
		{"oci archive", o.files.writeTar(t), FormatOCIArchive, nil},
		{"docker classic", d.write(t), FormatDockerArchive, nil},
		{"docker 25", fs.writeTar(t), FormatDockerArchive, nil},
		{"plain dir", t.TempDir(), 0, ErrInvalid},
		{"plain tar", notImage, 0, ErrInvalid},
		{"absent", filepath.Join(t.TempDir(), "nope"), 0, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(tc.path, Options{})
			if tc.err != nil {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			if got := src.Images()[0].Format; got != tc.want {
				t.Fatalf("format %v, want %v", got, tc.want)
			}
		})
	}
}

func diveArchive(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

// TestDiveData reads the archives of dive's test suite in place.
func TestDiveData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		format Format
		layers int
		comp   Compression
		ref    string
	}{
		{"test-docker-image.tar", FormatDockerArchive, 14, CompressionNone, "dive-test:latest"},
		{"test-oci-gzip-image.tar", FormatOCIArchive, 1, CompressionGzip, ""},
		{"test-oci-zstd-image.tar", FormatOCIArchive, 1, CompressionZstd, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src, err := Open(diveArchive(t, tc.file), Options{Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			img := src.Images()[0]
			if img.Format != tc.format || len(img.Layers) != tc.layers || !strings.HasPrefix(img.Ref, tc.ref) {
				t.Fatalf("format %v, %d layers, ref %q", img.Format, len(img.Layers), img.Ref)
			}
			// Stream every layer concurrently (the race detector checks
			// that readers share the archive file safely).
			var wg sync.WaitGroup
			errs := make([]error, len(img.Layers))
			stats := make([]Stats, len(img.Layers))
			for i, l := range img.Layers {
				wg.Go(func() {
					s, err := l.Open(true)
					if err != nil {
						errs[i] = err
						return
					}
					tr := tar.NewReader(s)
					for {
						if _, err := tr.Next(); err != nil {
							if !errors.Is(err, io.EOF) {
								errs[i] = err
							}
							break
						}
					}
					// The tar reader stops at the end-of-archive marker:
					// drain for verification.
					if _, err := io.Copy(io.Discard, s); err != nil && errs[i] == nil {
						errs[i] = err
					}
					stats[i] = s.Stats()
					errs[i] = errors.Join(errs[i], s.Close())
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("layer %d: %v", i, err)
				}
				if stats[i].Compression != tc.comp || stats[i].Compressed != img.Layers[i].Size {
					t.Errorf("layer %d: stats %+v, size %d", i, stats[i], img.Layers[i].Size)
				}
			}
		})
	}
}

// TestDockerSideLayoutRepeats: the OCI layout beside manifest.json is the
// archive author's. Its index.json may list a large manifest of another
// image 40,000 times; finding the manifest.json image reads it once, not
// 40,000 times (40 GB of JSON).
func TestDockerSideLayoutRepeats(t *testing.T) {
	t.Parallel()
	l1, l2 := layerTar(t, "a", "1"), layerTar(t, "b", "2")
	fs, d := docker25(t, l1, l2)
	var m map[string]any
	if err := json.Unmarshal(fs["blobs/sha256/"+d.Digest.Hex], &m); err != nil {
		t.Fatal(err)
	}
	// Another image: the same layers, another config, a 1 MB annotation.
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	o := &ociLayout{files: fs}
	m["config"] = o.blob(types.OCIConfigJSON, cfg)
	m["annotations"] = map[string]string{"pad": strings.Repeat("x", 1<<20)}
	other := o.blob(types.OCIManifestSchema1, mustJSON(t, m))
	o.top(t, append(slices.Repeat([]v1.Descriptor{other}, 40000), tagged(d, "app:1"))...)
	src, err := Open(fs.writeTar(t), Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	if img := src.Images()[0]; img.ManifestDigest != d.Digest {
		t.Fatalf("manifest %s, want %s", img.ManifestDigest, d.Digest)
	}
}
