package main

// Hostile and broken images through the whole CLI: each case builds a bad
// image in code and checks that `layerlint analyze` does not panic, exits
// with the code docs/exit-codes.md gives, and names on stderr what is
// wrong (file, blob, layer or path). See docs/security.md.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// hostileCase is one bad image: build returns the IMAGE argument (and may
// return extra flags to put before it).
type hostileCase struct {
	name  string
	build func(t *testing.T) (ref string, flags []string)
	code  int
	// stderr must contain every one of these; "$DIR" is replaced by the
	// reference.
	has []string
	// stdout must contain this (exit 0 cases).
	out string
}

func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref, flags := tc.build(t)
			args := append(append([]string{"analyze"}, flags...), ref)
			// No wall-clock bound here (a loaded machine would fail it):
			// the caps that stop each bomb early are asserted by counting
			// in the overlay and source tests.
			code, out, errs := runCLI(t, args...)
			if testing.Verbose() {
				t.Logf("%s", errs)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, errs)
			}
			for _, h := range tc.has {
				h = strings.ReplaceAll(h, "$DIR", strings.TrimPrefix(strings.TrimPrefix(ref, "oci:"), "docker-archive:"))
				if !strings.Contains(errs, h) {
					t.Errorf("stderr lacks %q:\n%s", h, errs)
				}
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out)
			}
			if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", errs)
			}
			if code != ExitOK && !strings.HasPrefix(errs, "layerlint: ") {
				t.Errorf("error not in the documented form:\n%s", errs)
			}
		})
	}
}

// smallImage is a valid one-layer image.
func smallImage() *fixtures.Image {
	return fixtures.NewImage().Add(fixtures.NewLayer().Dir("etc").File("etc/a", []byte("hello")))
}

// layoutOf writes img as an OCI layout and returns it.
func layoutOf(t *testing.T, img *fixtures.Image) (string, *fixtures.Written) {
	t.Helper()
	dir := t.TempDir()
	w, err := img.WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, w
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putFile(t *testing.T, p string, b []byte) {
	t.Helper()
	noErr(t, os.WriteFile(p, b, 0o644))
}

func readJSONFile(t *testing.T, p string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(p)
	noErr(t, err)
	var m map[string]any
	noErr(t, json.Unmarshal(b, &m))
	return m
}

func toJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	noErr(t, err)
	return b
}

// pointIndex makes index.json list one descriptor.
func pointIndex(t *testing.T, dir string, d ocispec.Descriptor) {
	t.Helper()
	noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests = []ocispec.Descriptor{d} }))
}

// editManifest rewrites the manifest of a one-image layout through edit,
// stores it and points index.json at it.
func editManifest(t *testing.T, dir string, w *fixtures.Written, edit func(m map[string]any)) digest.Digest {
	t.Helper()
	m := readJSONFile(t, testsupport.BlobPath(dir, w.Manifest.Digest))
	edit(m)
	return putManifest(t, dir, toJSON(t, m))
}

func putManifest(t *testing.T, dir string, raw []byte) digest.Digest {
	t.Helper()
	d, err := testsupport.PutBlob(dir, raw)
	noErr(t, err)
	pointIndex(t, dir, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(raw))})
	return d
}

// editConfig rewrites the config through edit and the manifest to match.
func editConfig(t *testing.T, dir string, w *fixtures.Written, edit func(c map[string]any)) digest.Digest {
	t.Helper()
	c := readJSONFile(t, testsupport.BlobPath(dir, w.Config.Digest))
	edit(c)
	raw := toJSON(t, c)
	d, err := testsupport.PutBlob(dir, raw)
	noErr(t, err)
	editManifest(t, dir, w, func(m map[string]any) {
		m["config"] = map[string]any{"mediaType": ocispec.MediaTypeImageConfig, "digest": d.String(), "size": len(raw)}
	})
	return d
}

// blobLayer describes a layer for blobLayout: tar streams the uncompressed
// layer, comp compresses it ("gzip", "zstd" or "" for none); or raw, when
// set, is the stored blob as is, with diffID.
type blobLayer struct {
	tar    func(w io.Writer) error
	comp   string
	raw    func(w io.Writer) error
	diffID digest.Digest
	mt     string
}

// hashWriter counts and hashes what goes through it.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// blobLayout writes an OCI layout whose layers are streamed to disk, never
// held in memory, with descriptors that match what was written.
func blobLayout(t *testing.T, layers ...blobLayer) string {
	t.Helper()
	dir := t.TempDir()
	noErr(t, os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755))
	var descs []map[string]any
	var diffIDs []string
	for i, l := range layers {
		tmp := filepath.Join(dir, fmt.Sprintf("tmp%d", i))
		f, err := os.Create(tmp)
		noErr(t, err)
		blobW := &hashWriter{w: f, h: sha256.New()}
		diffID := l.diffID
		mt := l.mt
		if l.raw != nil {
			noErr(t, l.raw(blobW))
		} else {
			var enc io.WriteCloser
			switch l.comp {
			case "gzip":
				enc = gzip.NewWriter(blobW)
				if mt == "" {
					mt = ocispec.MediaTypeImageLayerGzip
				}
			case "zstd":
				enc, err = zstd.NewWriter(blobW, zstd.WithEncoderConcurrency(1))
				noErr(t, err)
				if mt == "" {
					mt = ocispec.MediaTypeImageLayerZstd
				}
			default:
				enc = nopWriteCloser{blobW}
			}
			tarW := &hashWriter{w: enc, h: sha256.New()}
			noErr(t, l.tar(tarW))
			noErr(t, enc.Close())
			diffID = digest.NewDigestFromBytes(digest.SHA256, tarW.h.Sum(nil))
		}
		if mt == "" {
			mt = ocispec.MediaTypeImageLayer
		}
		noErr(t, f.Close())
		d := digest.NewDigestFromBytes(digest.SHA256, blobW.h.Sum(nil))
		noErr(t, os.Rename(tmp, testsupport.BlobPath(dir, d)))
		descs = append(descs, map[string]any{"mediaType": mt, "digest": d.String(), "size": blobW.n})
		diffIDs = append(diffIDs, diffID.String())
	}
	if descs == nil {
		descs = []map[string]any{}
		diffIDs = []string{}
	}
	cfg := toJSON(t, map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cd, err := testsupport.PutBlob(dir, cfg)
	noErr(t, err)
	m := toJSON(t, map[string]any{
		"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
		"config": map[string]any{"mediaType": ocispec.MediaTypeImageConfig, "digest": cd.String(), "size": len(cfg)},
		"layers": descs,
	})
	putFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	putFile(t, filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[]}`))
	putManifest(t, dir, m)
	return dir
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func bytesOf(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	noErr(t, err)
	noErr(t, zw.Close())
	return buf.Bytes()
}

func zstdBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	noErr(t, err)
	defer func() { _ = zw.Close() }()
	return zw.EncodeAll(b, nil)
}

// oneLayer is a layout holding the fixtures layer l (gzip).
func oneLayer(l *fixtures.Layer) func(t *testing.T) (string, []string) {
	return func(t *testing.T) (string, []string) {
		dir, _ := layoutOf(t, fixtures.NewImage().Add(l))
		return dir, nil
	}
}

func zeroHex() string { return strings.Repeat("0", 64) }

// TestHostileLayout: the layout's own files lie or are missing
// (image-spec image-layout.md, manifest.md, descriptor.md).
func TestHostileLayout(t *testing.T) {
	t.Parallel()
	cases := []hostileCase{
		{name: "missing oci-layout", code: ExitInput, has: []string{"$DIR", "directory without oci-layout"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, os.Remove(filepath.Join(dir, "oci-layout")))
				return dir, nil
			}},
		{name: "missing oci-layout, oci: prefix", code: ExitInput, has: []string{"oci-layout of $DIR", "not found"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, os.Remove(filepath.Join(dir, "oci-layout")))
				return "oci:" + dir, nil
			}},
		{name: "malformed oci-layout", code: ExitInput, has: []string{"parsing oci-layout of $DIR"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				putFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":`))
				return dir, nil
			}},
		{name: "oci-layout version 2", code: ExitInput, has: []string{"unsupported imageLayoutVersion \"2.0.0\""},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				putFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"2.0.0"}`))
				return dir, nil
			}},
		{name: "oci-layout is a directory", code: ExitInput, has: []string{"oci-layout"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, os.Remove(filepath.Join(dir, "oci-layout")))
				noErr(t, os.Mkdir(filepath.Join(dir, "oci-layout"), 0o755))
				return dir, nil
			}},
		{name: "missing index.json", code: ExitInput, has: []string{"index.json of $DIR", "not found"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, os.Remove(filepath.Join(dir, "index.json")))
				return dir, nil
			}},
		{name: "index.json not JSON", code: ExitInput, has: []string{"index.json of $DIR", "parsing index"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				putFile(t, filepath.Join(dir, "index.json"), []byte("{\"manifests\": [}"))
				return dir, nil
			}},
		{name: "index.json huge", code: ExitInput, has: []string{"index.json of $DIR", "larger than"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				f, err := os.Create(filepath.Join(dir, "index.json"))
				noErr(t, err)
				noErr(t, f.Truncate(1<<30)) // sparse: 1 GiB of zeros on disk costs nothing
				noErr(t, f.Close())
				return dir, nil
			}},
		{name: "index.json schemaVersion 1", code: ExitInput, has: []string{"index.json of $DIR", "schemaVersion 1"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.SchemaVersion = 1 }))
				return dir, nil
			}},
		{name: "index.json wrong media type", code: ExitInput, has: []string{"index.json of $DIR", "application/vnd.oci.image.manifest.v1+json"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.MediaType = ocispec.MediaTypeImageManifest }))
				return dir, nil
			}},
		{name: "index.json lists nothing", code: ExitInput, has: []string{"index.json of $DIR lists no manifests"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests = nil }))
				return dir, nil
			}},
		{name: "manifest not JSON", code: ExitInput, has: []string{"manifest sha256:", "parsing manifest"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				putManifest(t, dir, []byte(`{"schemaVersion": 2, "layers": [`))
				return dir, nil
			}},
		{name: "manifest schemaVersion 1", code: ExitInput, has: []string{"manifest sha256:", "schemaVersion 1"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) { m["schemaVersion"] = 1 })
				return dir, nil
			}},
		{name: "manifest media type is an index's", code: ExitInput, has: []string{"manifest sha256:", "media type \"application/vnd.oci.image.index.v1+json\""},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) { m["mediaType"] = ocispec.MediaTypeImageIndex })
				return dir, nil
			}},
		{name: "config media type not a config", code: ExitInput, has: []string{"manifest sha256:", "not an image config"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) {
					m["config"].(map[string]any)["mediaType"] = "application/vnd.example.artifact+json"
				})
				return dir, nil
			}},
		{name: "config not JSON", code: ExitInput, has: []string{"config sha256:", "parsing config"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				raw := []byte(`{"rootfs": {"diff_ids": [1, 2`)
				d, err := testsupport.PutBlob(dir, raw)
				noErr(t, err)
				editManifest(t, dir, w, func(m map[string]any) {
					m["config"] = map[string]any{"mediaType": ocispec.MediaTypeImageConfig, "digest": d.String(), "size": len(raw)}
				})
				return dir, nil
			}},
		{name: "config with more diff_ids than layers", code: ExitInput, has: []string{"1 layers but config", "2 diff_ids"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editConfig(t, dir, w, func(c map[string]any) {
					rf := c["rootfs"].(map[string]any)
					rf["diff_ids"] = append(rf["diff_ids"].([]any), "sha256:"+zeroHex())
				})
				return dir, nil
			}},
		{name: "config with an empty diff_id", code: ExitInput, has: []string{"config sha256:", "diff_id"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editConfig(t, dir, w, func(c map[string]any) { c["rootfs"].(map[string]any)["diff_ids"] = []any{""} })
				return dir, nil
			}},
		{name: "config with more history than layers", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editConfig(t, dir, w, func(c map[string]any) {
					c["history"] = []any{map[string]any{"created_by": "one"}, map[string]any{"created_by": "two"}, map[string]any{"created_by": "three"}}
				})
				return dir, nil
			}},
		{name: "negative manifest size", code: ExitInput, has: []string{"index.json in $DIR", "size -1 out of range"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests[0].Size = -1 }))
				return dir, nil
			}},
		{name: "absurd manifest size", code: ExitInput, has: []string{"size 4611686018427387904 out of range"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests[0].Size = 1 << 62 }))
				return dir, nil
			}},
		{name: "absurd layer size", code: ExitInput, has: []string{"layer 0 of manifest sha256:", "out of range"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) { m["layers"].([]any)[0].(map[string]any)["size"] = int64(1) << 50 })
				return dir, nil
			}},
		{name: "negative layer size", code: ExitInput, has: []string{"layer 0 of manifest sha256:", "size -5"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) { m["layers"].([]any)[0].(map[string]any)["size"] = -5 })
				return dir, nil
			}},
		{name: "manifest size disagrees with blob", code: ExitIntegrity, has: []string{"needed by index.json", "descriptor says", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests[0].Size++ }))
				return dir, nil
			}},
		{name: "manifest digest disagrees with blob", code: ExitIntegrity, has: []string{"needed by index.json", "content has digest", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.CorruptBlob(dir, w.Manifest.Digest))
				return dir, nil
			}},
		{name: "config digest disagrees with blob", code: ExitIntegrity, has: []string{"needed by manifest sha256:", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.CorruptBlob(dir, w.Config.Digest))
				return dir, nil
			}},
		{name: "layer size disagrees with blob", code: ExitIntegrity, has: []string{"layer 0 blob sha256:", "descriptor says", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) {
					l := m["layers"].([]any)[0].(map[string]any)
					l["size"] = l["size"].(float64) + 1
				})
				return dir, nil
			}},
		{name: "missing manifest blob", code: ExitInput, has: []string{"blob sha256:", "needed by index.json", "not found"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.RemoveBlob(dir, w.Manifest.Digest))
				return dir, nil
			}},
		{name: "missing config blob", code: ExitInput, has: []string{"blob sha256:", "needed by manifest sha256:", "not found"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.RemoveBlob(dir, w.Config.Digest))
				return dir, nil
			}},
		{name: "missing layer blob", code: ExitInput, has: []string{"layer 0 blob sha256:", "needed by manifest sha256:", "not found"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.RemoveBlob(dir, w.Layers[0].Digest))
				return dir, nil
			}},
		{name: "blob is a directory", code: ExitInput, has: []string{"not a regular file"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.RemoveBlob(dir, w.Layers[0].Digest))
				noErr(t, os.Mkdir(testsupport.BlobPath(dir, w.Layers[0].Digest), 0o755))
				return dir, nil
			}},
		{name: "blob is a FIFO", code: ExitInput, has: []string{"not a regular file"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				noErr(t, testsupport.RemoveBlob(dir, w.Layers[0].Digest))
				mkfifo(t, testsupport.BlobPath(dir, w.Layers[0].Digest))
				return dir, nil
			}},
		{name: "blob is a symlink out of the layout", code: ExitInput, has: []string{"blob sha256:"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				outside := filepath.Join(t.TempDir(), "manifest")
				b, err := os.ReadFile(testsupport.BlobPath(dir, w.Manifest.Digest))
				noErr(t, err)
				putFile(t, outside, b)
				noErr(t, testsupport.RemoveBlob(dir, w.Manifest.Digest))
				noErr(t, os.Symlink(outside, testsupport.BlobPath(dir, w.Manifest.Digest)))
				return dir, nil
			}},
		{name: "index refers to itself", code: ExitIntegrity, has: []string{"index.json", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				selfIndex(t, dir)
				return dir, nil
			}},
		{name: "index refers to itself, --no-verify", code: ExitInput, has: []string{"cycle"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				selfIndex(t, dir)
				return dir, []string{"--no-verify"}
			}},
		{name: "indexes nested without end", code: ExitInput, has: []string{"nested deeper than"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				d := w.Manifest
				for range 20 {
					raw := toJSON(t, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{d}})
					h, err := testsupport.PutBlob(dir, raw)
					noErr(t, err)
					d = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: h, Size: int64(len(raw))}
				}
				pointIndex(t, dir, d)
				return dir, nil
			}},
		{name: "unknown manifest media type", code: ExitInput, has: []string{"$DIR holds no image manifest"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests[0].MediaType = "application/vnd.example.thing+json" }))
				return dir, nil
			}},
		{name: "unknown layer media type", code: ExitInput, has: []string{"layer 0 (sha256:", "is not a layer"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) {
					m["layers"].([]any)[0].(map[string]any)["mediaType"] = "application/vnd.example.layer.v1.tar+lz4"
				})
				return dir, nil
			}},
		{name: "unsupported digest algorithm", code: ExitInput, has: []string{"index.json of $DIR", `unsupported hash: "md5"`},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) {
					idx.Manifests[0].Digest = digest.Digest("md5:" + strings.Repeat("a", 32))
				}))
				return dir, nil
			}},
		{name: "digest algorithm climbs out of blobs/", code: ExitInput, has: []string{"index.json"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) {
					idx.Manifests[0].Digest = digest.Digest("../../..:" + strings.Repeat("a", 64))
				}))
				return dir, nil
			}},
		{name: "digest with malformed hex", code: ExitInput, has: []string{"index.json of $DIR"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) {
					idx.Manifests[0].Digest = digest.Digest("sha256:" + strings.Repeat("z", 64))
				}))
				return dir, nil
			}},
		{name: "layer digest with malformed hex", code: ExitInput, has: []string{"manifest"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, smallImage())
				editManifest(t, dir, w, func(m map[string]any) {
					m["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:../../etc/passwd"
				})
				return dir, nil
			}},
		{name: "digest too short", code: ExitInput, has: []string{"index.json of $DIR", "hex digits"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, smallImage())
				noErr(t, testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) { idx.Manifests[0].Digest = "sha256:abc" }))
				return dir, nil
			}},
	}
	runHostile(t, cases)
}

// selfIndex makes index.json point at an index blob that lists itself: a
// blob stored under the digest it lists, which therefore cannot be its own.
func selfIndex(t *testing.T, dir string) {
	t.Helper()
	h := digest.Digest("sha256:" + strings.Repeat("ab", 32))
	raw := toJSON(t, map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex,
		"manifests": []any{map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "digest": h.String(), "size": 0}}})
	// The listed size must be the blob's for --no-verify to get as far as
	// the cycle; fix it up (the size is part of the blob, so iterate).
	for range 3 {
		raw = toJSON(t, map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex,
			"manifests": []any{map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "digest": h.String(), "size": len(raw)}}})
	}
	putFile(t, testsupport.BlobPath(dir, h), raw)
	pointIndex(t, dir, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: h, Size: int64(len(raw))})
}

// TestHostileBlobs: layer blobs that are damaged, lie, or are empty.
func TestHostileBlobs(t *testing.T) {
	t.Parallel()
	good := fixtures.NewLayer().Dir("etc").File("etc/a", bytes.Repeat([]byte("hello "), 2000)).File("etc/b", []byte("b"))
	tarGood := good.Tar()
	half := func(b []byte) []byte { return b[:len(b)/2] }
	cases := []hostileCase{
		{name: "truncated gzip", code: ExitInput, has: []string{"layer 0 (sha256:", "decompressing", "gzip", "unexpected EOF"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(half(gzipBytes(t, tarGood))), diffID: digest.FromBytes(tarGood), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "truncated zstd", code: ExitInput, has: []string{"layer 0 (sha256:", "zstd"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(half(zstdBytes(t, tarGood))), diffID: digest.FromBytes(tarGood), mt: ocispec.MediaTypeImageLayerZstd}), nil
			}},
		{name: "gzip header only", code: ExitInput, has: []string{"layer 0", "gzip"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf([]byte{0x1f, 0x8b, 8}), diffID: digest.FromBytes(tarGood), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "trailing garbage after gzip, covered by the digest", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(append(gzipBytes(t, tarGood), "garbage after the stream"...)), diffID: digest.FromBytes(tarGood), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "trailing garbage after zstd", code: ExitInput, has: []string{"layer 0 (sha256:", "zstd"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(append(zstdBytes(t, tarGood), "garbage after the stream"...)), diffID: digest.FromBytes(tarGood), mt: ocispec.MediaTypeImageLayerZstd}), nil
			}},
		{name: "blob digest mismatch", code: ExitIntegrity, has: []string{"layer 0", "blob digest: expected sha256:", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, fixtures.NewImage().Add(good, fixtures.Compressed(fixtures.None)))
				noErr(t, testsupport.CorruptBlob(dir, w.Layers[0].Digest))
				return dir, nil
			}},
		{name: "gzip blob digest mismatch", code: ExitIntegrity, has: []string{"layer 0", "blob digest", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				dir, w := layoutOf(t, fixtures.NewImage().Add(good))
				noErr(t, testsupport.CorruptBlob(dir, w.Layers[0].Digest))
				return dir, nil
			}},
		{name: "diff_id mismatch", code: ExitIntegrity, has: []string{"layer 0 (sha256:", "diff_id: expected sha256:" + zeroHex(), "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(gzipBytes(t, tarGood)), diffID: digest.Digest("sha256:" + zeroHex()), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "diff_id mismatch ignored with --no-verify", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(gzipBytes(t, tarGood)), diffID: digest.Digest("sha256:" + zeroHex()), mt: ocispec.MediaTypeImageLayerGzip}), []string{"--no-verify"}
			}},
		{name: "layer not a tar", code: ExitInput, has: []string{"layer 0 (sha256:", "malformed tar"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: bytesOf(bytes.Repeat([]byte("this is not a tar archive\n"), 100)), comp: "gzip"}), nil
			}},
		{name: "layer is xz", code: ExitInput, has: []string{"layer 0", "xz compression"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf([]byte("\xfd7zXZ\x00\x00\x04rest")), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "tar truncated mid-entry", code: ExitInput, has: []string{"layer 0 (sha256:", "malformed tar", `"etc/a"`, "unexpected EOF"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: bytesOf(tarGood[:3000]), comp: "gzip"}), nil
			}},
		{name: "tar truncated mid-header", code: ExitInput, has: []string{"layer 0 (sha256:", "malformed tar"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: bytesOf(tarGood[:700]), comp: "zstd"}), nil
			}},
		{name: "tar without end marker", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return oneLayer(fixtures.NewLayer().File("a", []byte("x")).OmitEnd())(t)
			}},
		{name: "empty blob (0 bytes)", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: bytesOf(nil)}), nil
			}},
		{name: "empty blob (0 bytes) with a gzip media type", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{raw: bytesOf(nil), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerGzip}), nil
			}},
		{name: "empty tar", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: bytesOf(make([]byte, 1024)), comp: "gzip"}, blobLayer{tar: bytesOf(make([]byte, 1024)), comp: "zstd"}), nil
			}},
		{name: "no layers at all", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) { return blobLayout(t), nil }},
	}
	runHostile(t, cases)
}

// TestHostileEntries: tar entries that try to escape, confuse or overload
// the reader (image-spec layer.md; docs/overlay-semantics.md "Names").
func TestHostileEntries(t *testing.T) {
	t.Parallel()
	L := fixtures.NewLayer
	deep := strings.Repeat("d/", 10000) + "f"
	cases := []hostileCase{
		{name: "dotdot name", code: ExitInput, has: []string{"layer 0 (sha256:", "escapes the image root", `"../etc/passwd"`},
			build: oneLayer(L().File("../etc/passwd", []byte("x")))},
		{name: "dotdot inside name", code: ExitInput, has: []string{"layer 0", `"a/../../x"`},
			build: oneLayer(L().File("a/../../x", []byte("x")))},
		{name: "dotdot that stays inside", code: ExitOK, out: "Summary",
			build: oneLayer(L().File("a/../b", []byte("x")))},
		{name: "absolute name", code: ExitOK, out: "Summary",
			build: oneLayer(L().File("/etc/passwd", []byte("x")).File("//x/./y", []byte("y")))},
		{name: "path through a symlink of the same layer", code: ExitOK, out: "Summary",
			build: oneLayer(L().Symlink("etc", "/outside").File("etc/passwd", []byte("x")))},
		{name: "path through a symlink of a lower layer", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, fixtures.NewImage().Add(L().Symlink("etc", "../../..")).Add(L().File("etc/passwd", []byte("x")).Whiteout("etc/shadow")))
				return dir, nil
			}},
		{name: "hard link above the root", code: ExitInput, has: []string{"layer 0", "hard link", `"../../etc/shadow"`},
			build: oneLayer(L().Hardlink("l", "../../etc/shadow"))},
		{name: "hard link to an absolute path not in the image", code: ExitOK, out: "Summary",
			build: oneLayer(L().Hardlink("l", "/etc/shadow"))},
		{name: "hard link to a later entry", code: ExitOK, out: "Summary",
			build: oneLayer(L().Hardlink("l", "f").File("f", []byte("x")))},
		{name: "hard link to itself and to a directory", code: ExitOK, out: "Summary",
			build: oneLayer(L().File("f", []byte("x")).Hardlink("f", "f").Dir("d").Hardlink("l", "d"))},
		{name: "bare .wh.", code: ExitOK, out: "Summary",
			build: oneLayer(L().File("a/.wh.", nil).File(".wh.", nil))},
		{name: "opaque marker as a directory", code: ExitOK, out: "Summary",
			build: oneLayer(L().Dir("a/.wh..wh..opq").File("a/.wh..wh..opq/inside", []byte("x")))},
		{name: "whiteout of the root", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, fixtures.NewImage().Add(L().File("a", []byte("x"))).Add(L().File(".wh..", nil).File("./.wh..", nil).File("/.wh..wh..opq", nil)))
				return dir, nil
			}},
		{name: "whiteout carrying data", code: ExitOK, out: "Summary",
			build: oneLayer(L().Raw(&tar.Header{Name: ".wh.x", Typeflag: tar.TypeReg, Size: 5, Mode: 0o644}, []byte("12345")))},
		{name: "name with NUL in a PAX record", code: ExitInput, has: []string{"layer 0", "malformed tar"},
			build: oneLayer(L().RawBytes(paxEntry(map[string]string{"path": "a\x00b"}, "x", nil)))},
		{name: "name with control characters and invalid UTF-8", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, fixtures.NewImage().
					Add(L().File("a\x1b[2J\xff\xfe/evil\x07", []byte("1234567890"))).
					Add(L().File("a\x1b[2J\xff\xfe/evil\x07", []byte("0987654321"))))
				return dir, nil
			}},
		{name: "PAX global header", code: ExitOK, out: "Summary",
			build: oneLayer(L().RawBytes(paxGlobal(map[string]string{"comment": "hi", "path": "ignored"})).File("a", []byte("x")))},
		{name: "PAX record larger than archive/tar allows", code: ExitInput, has: []string{"layer 0", "malformed tar"},
			build: oneLayer(L().RawBytes(paxEntry(map[string]string{"SCHILY.xattr.user.big": strings.Repeat("x", 2<<20)}, "a", nil)))},
		{name: "many big xattrs", code: ExitInput, has: []string{"layer 0", "cap exceeded", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				l := L()
				for i := range 20 {
					l.File(fmt.Sprintf("f%d", i), nil, fixtures.Xattr("user.big", strings.Repeat("x", 500<<10)))
				}
				dir, _ := layoutOf(t, fixtures.NewImage().Add(l))
				return dir, []string{"--max-layer-bytes", "4000000"}
			}},
		{name: "sparse file", code: ExitOK, out: "Summary",
			build: oneLayer(L().RawBytes(sparseEntry("sparse", 1<<20, "hello")))},
		{name: "sparse file bomb", code: ExitInput, has: []string{"layer 0", `"sparse"`, "cap exceeded", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				ref, _ := oneLayer(L().RawBytes(sparseEntry("sparse", 100<<30, "hello")))(t)
				return ref, []string{"--max-layer-bytes", "1000000"}
			}},
		{name: "devices and FIFOs", code: ExitOK, out: "Summary",
			build: oneLayer(L().CharDevice("dev/null", 1, 3).BlockDevice("dev/sda", 8, 0).FIFO("run/fifo").CharDevice(".wh.x", 0, 0))},
		{name: "duplicate entries", code: ExitOK, out: "Summary",
			build: oneLayer(L().File("a", []byte("1")).File("a", []byte("22")).Dir("a").File("a", []byte("333")).Symlink("a", "a"))},
		{name: "size beyond the data", code: ExitInput, has: []string{"layer 0", "malformed tar", `"big"`},
			build: oneLayer(L().Raw(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1 << 20, Mode: 0o644}, []byte("short")).OmitEnd())},
		{name: "unknown entry type carrying data", code: ExitOK, out: "Summary",
			build: oneLayer(L().Raw(&tar.Header{Name: "odd", Typeflag: 'Q', Size: 3, Mode: 0o644}, []byte("abc")).File("a", []byte("x")))},
		{name: "unknown entry type carrying a bomb", code: ExitInput, has: []string{"layer 0", `"odd"`, "cap exceeded", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				bomb := zstdBomb(t, paxHeaderOnly(map[string]string{"size": fmt.Sprint(int64(100) << 30)}, 'Q', "odd"), 100<<30)
				return blobLayout(t, blobLayer{raw: bomb, diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerZstd}), []string{"--max-layer-bytes", "10000000"}
			}},
		{name: "a path ten thousand levels deep, caps raised", code: ExitOK, out: "10001 paths",
			build: func(t *testing.T) (string, []string) {
				dir, _ := oneLayer(L().File(deep, []byte("x")))(t)
				return dir, []string{"--max-path-bytes", "30000", "--max-path-depth", "20000"}
			}},
		{name: "a path ten thousand levels deep", code: ExitInput, has: []string{"layer 0", "path too long", "--max-path-bytes"},
			build: oneLayer(L().File(deep, []byte("x")))},
	}
	runHostile(t, cases)
}

// TestHostileOutput: names, history and tags that hold terminal control
// sequences, bidi controls or GitHub workflow commands must not reach a
// terminal or a CI log raw, in any command or format: no control, C1 or
// bidi character, and no line that a runner executes except the github
// format's own annotations.
func TestHostileOutput(t *testing.T) {
	t.Parallel()
	const evil = "x\x1b]0;pwned\x07\x1b[2J\xff\n::error file=a::forged\r\u202egnp.exe\u0085##[add-mask]y"
	dir, _ := layoutOf(t, fixtures.NewImage().
		Add(fixtures.NewLayer().File(evil, []byte("1234567890")), fixtures.CreatedBy("RUN \x1b[31mred\n::warning::forged\u2066")).
		Add(fixtures.NewLayer().Whiteout(evil)))
	runs := [][]string{
		{"analyze", dir}, {"analyze", "--format", "json", dir},
		{"ls", "--layer", "0", dir}, {"ls", "--layer", "0", "--format", "json", dir},
	}
	for _, f := range []string{"text", "json", "sarif", "markdown", "github", "junit"} {
		runs = append(runs, []string{"lint", "--format", f, dir})
	}
	for _, args := range runs {
		code, out, errs := runCLI(t, args...)
		if code != ExitOK && code != ExitFailed {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		for _, r := range out + errs {
			if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x202e || r == 0x2066 || r == utf8.RuneError {
				t.Errorf("%v: %U reaches the output:\n%s", args, r, out)
				break
			}
		}
		if strings.Contains(out, "##[") {
			t.Errorf("%v: a legacy runner command reaches the output:\n%s", args, out)
		}
		commands := 0
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "::") {
				commands++
				if !strings.HasPrefix(l, "::warning ") && !strings.HasPrefix(l, "::error ") && !strings.HasPrefix(l, "::notice ") {
					t.Errorf("%v: a forged workflow command: %s", args, l)
				}
			}
		}
		if args[len(args)-2] != "github" && commands > 0 {
			t.Errorf("%v: %d workflow command lines:\n%s", args, commands, out)
		}
		if !strings.Contains(out, `\x1b`) && !strings.Contains(out, `\u001b`) {
			t.Errorf("%v: the name is not shown escaped:\n%s", args, out)
		}
	}
}

// TestHostileBombs: decompression bombs stop at the caps, quickly, with a
// message that names the cap and the flag that raises it.
func TestHostileBombs(t *testing.T) {
	t.Parallel()
	cases := []hostileCase{
		{name: "gzip: one file of 100 GB", code: ExitInput, has: []string{"layer 0 (sha256:", `"bomb"`, "more than 16777216 bytes", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				dir := blobLayout(t, blobLayer{raw: gzipBomb(t, fileHeader("bomb", 100<<30), 4<<30), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerGzip})
				return dir, []string{"--max-layer-bytes", "16777216"}
			}},
		{name: "zstd: one file of 100 GB", code: ExitInput, has: []string{"layer 0 (sha256:", `"bomb"`, "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				dir := blobLayout(t, blobLayer{raw: zstdBomb(t, fileHeader("bomb", 100<<30), 100<<30), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerZstd})
				return dir, []string{"--max-layer-bytes", "16777216"}
			}},
		{name: "zstd: 100 GB of zeros after the end of the tar", code: ExitInput, has: []string{"layer 0 (sha256:", "after the end of the tar", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				prefix := fixtures.NewLayer().File("small", []byte("x")).Tar()
				dir := blobLayout(t, blobLayer{raw: zstdBomb(t, prefix, 100<<30), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerZstd})
				return dir, []string{"--max-layer-bytes", "16777216"}
			}},
		{name: "gzip: 4 GB of zeros after the end of the tar", code: ExitInput, has: []string{"layer 0 (sha256:", "after the end of the tar", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				prefix := fixtures.NewLayer().File("small", []byte("x")).Tar()
				dir := blobLayout(t, blobLayer{raw: gzipBomb(t, prefix, 4<<30), diffID: digest.FromBytes(nil), mt: ocispec.MediaTypeImageLayerGzip})
				return dir, []string{"--max-layer-bytes", "16777216"}
			}},
		{name: "many files adding up", code: ExitInput, has: []string{"layer 0", "more than 100000 bytes of content", "--max-layer-bytes"},
			build: func(t *testing.T) (string, []string) {
				l := fixtures.NewLayer()
				for i := range 100 {
					l.File(fmt.Sprintf("f%03d", i), make([]byte, 2000))
				}
				dir, _ := layoutOf(t, fixtures.NewImage().Add(l))
				return dir, []string{"--max-layer-bytes", "100000"}
			}},
		{name: "image cap across layers", code: ExitInput, has: []string{"layer 1", "image content passes 150000 bytes", "--max-image-bytes"},
			build: func(t *testing.T) (string, []string) {
				dir, _ := layoutOf(t, fixtures.NewImage().
					Add(fixtures.NewLayer().File("a", make([]byte, 100000))).
					Add(fixtures.NewLayer().File("b", make([]byte, 100000))))
				return dir, []string{"--max-image-bytes", "150000"}
			}},
		{name: "entries cap", code: ExitInput, has: []string{"layer 0", "more than 1000 entries", "--max-layer-entries"},
			build: func(t *testing.T) (string, []string) {
				dir := blobLayout(t, blobLayer{tar: emptyFiles(5000, "f%d"), comp: "gzip"})
				return dir, []string{"--max-layer-entries", "1000"}
			}},
		{name: "deep paths count against the entries cap", code: ExitInput, has: []string{"layer 0", "more than 100000 paths", "--max-layer-entries"},
			build: func(t *testing.T) (string, []string) {
				dir := blobLayout(t, blobLayer{tar: emptyFiles(50, "%d/"+strings.Repeat("d/", 5000)+"f"), comp: "gzip"})
				return dir, []string{"--max-layer-entries", "100000", "--max-path-bytes", "20000", "--max-path-depth", "10000"}
			}},
		{name: "a path over the length cap", code: ExitInput, has: []string{"layer 0", "path too long", "10002 bytes, more than 4096 (cap)", "… (10002 bytes)", "--max-path-bytes"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: emptyFiles(1, strings.Repeat("d/", 5000)+"f%d"), comp: "gzip"}), nil
			}},
		{name: "a path over the depth cap", code: ExitInput, has: []string{"layer 0", "path too long", "more than 100 levels (cap)", "--max-path-depth"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: emptyFiles(1, strings.Repeat("d/", 101)+"f%d"), comp: "gzip"}), []string{"--max-path-depth", "100"}
			}},
		{name: "a hard link to a path over the cap", code: ExitInput, has: []string{"layer 0", "hard link", "path too long", "--max-path-bytes"},
			build: oneLayer(fixtures.NewLayer().File(strings.Repeat("d/", 100)+"f", nil).Hardlink("l", strings.Repeat("d/", 3000)+"f"))},
		{name: "a cap of zero", code: ExitInput, has: []string{"--max-path-bytes 0: a cap must be at least 1"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: emptyFiles(1, "f%d"), comp: "gzip"}), []string{"--max-path-bytes", "0"}
			}},
		{name: "a negative cap", code: ExitInput, has: []string{"--max-layer-bytes -1: a cap must be at least 1"},
			build: func(t *testing.T) (string, []string) {
				return blobLayout(t, blobLayer{tar: emptyFiles(1, "f%d"), comp: "gzip"}), []string{"--max-layer-bytes", "-1"}
			}},
		{name: "within the caps", code: ExitOK, out: "Summary",
			build: func(t *testing.T) (string, []string) {
				dir := blobLayout(t, blobLayer{tar: emptyFiles(5000, "d/f%d"), comp: "zstd"})
				return dir, []string{"--max-layer-entries", "5001", "--max-layer-bytes", "10000000"}
			}},
	}
	runHostile(t, cases)
}

// TestHostileDockerArchive: docker save tarballs that lie.
func TestHostileDockerArchive(t *testing.T) {
	t.Parallel()
	layer := fixtures.NewLayer().File("a", []byte("x")).Tar()
	diffID := digest.FromBytes(layer)
	cfg := func(diffIDs []string, history int) []byte {
		var h []any
		for i := range history {
			h = append(h, map[string]any{"created_by": fmt.Sprint("step ", i)})
		}
		return toJSON(t, map[string]any{"architecture": "amd64", "os": "linux", "history": h,
			"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	}
	manifest := func(config string, layers ...string) []byte {
		return toJSON(t, []any{map[string]any{"Config": config, "RepoTags": []string{"x:1"}, "Layers": layers}})
	}
	archive := func(t *testing.T, members ...archMember) func(t *testing.T) (string, []string) {
		return func(t *testing.T) (string, []string) {
			p := filepath.Join(t.TempDir(), "img.tar")
			writeArchive(t, p, members...)
			return p, nil
		}
	}
	c1 := cfg([]string{diffID.String()}, 1)
	c1Name := digest.FromBytes(c1).Encoded() + ".json"
	cases := []hostileCase{
		{name: "missing manifest.json", code: ExitInput, has: []string{"$DIR", "neither manifest.json nor oci-layout"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: c1Name, body: c1}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "missing manifest.json, docker-archive: prefix", code: ExitInput, has: []string{"manifest.json of $DIR", "not found"},
			build: func(t *testing.T) (string, []string) {
				ref, _ := archive(t, archMember{name: c1Name, body: c1})(t)
				return "docker-archive:" + ref, nil
			}},
		{name: "manifest.json not JSON", code: ExitInput, has: []string{"parsing manifest.json of $DIR"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: []byte("[{")})(t)
			}},
		{name: "layer listed but not in the tar", code: ExitInput, has: []string{"layer 0 (l/layer.tar", "image x:1", "not found"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "l/layer.tar")}, archMember{name: c1Name, body: c1})(t)
			}},
		{name: "config listed but not in the tar", code: ExitInput, has: []string{"config " + c1Name, "not found"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "l/layer.tar")}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "symlinked layer.tar loop", code: ExitInput, has: []string{"layer 0 (a/layer.tar", "loop"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "a/layer.tar")}, archMember{name: c1Name, body: c1},
					archMember{name: "a/layer.tar", link: "../b/layer.tar"}, archMember{name: "b/layer.tar", link: "../a/layer.tar"})(t)
			}},
		{name: "symlinked layer.tar to itself", code: ExitInput, has: []string{"layer 0 (a/layer.tar", "loop"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "a/layer.tar")}, archMember{name: c1Name, body: c1},
					archMember{name: "a/layer.tar", link: "layer.tar"})(t)
			}},
		{name: "layer.tar links out of the archive", code: ExitInput, has: []string{"layer 0 (a/layer.tar", "not found"},
			build: func(t *testing.T) (string, []string) {
				return archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "a/layer.tar")}, archMember{name: c1Name, body: c1},
					archMember{name: "a/layer.tar", link: "../../../../../../etc/passwd"})(t)
			}},
		{name: "config with more history than layers", code: ExitOK, out: "step 0",
			build: func(t *testing.T) (string, []string) {
				c := cfg([]string{diffID.String()}, 5)
				n := digest.FromBytes(c).Encoded() + ".json"
				return archive(t, archMember{name: "manifest.json", body: manifest(n, "l/layer.tar")}, archMember{name: n, body: c}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "more diff_ids than layers", code: ExitInput, has: []string{"image x:1", "1 layers but config has 2 diff_ids"},
			build: func(t *testing.T) (string, []string) {
				c := cfg([]string{diffID.String(), diffID.String()}, 0)
				n := digest.FromBytes(c).Encoded() + ".json"
				return archive(t, archMember{name: "manifest.json", body: manifest(n, "l/layer.tar")}, archMember{name: n, body: c}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "layer diff_id mismatch", code: ExitIntegrity, has: []string{"layer 0", "diff_id", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				c := cfg([]string{"sha256:" + zeroHex()}, 0)
				n := digest.FromBytes(c).Encoded() + ".json"
				return archive(t, archMember{name: "manifest.json", body: manifest(n, "l/layer.tar")}, archMember{name: n, body: c}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "config named by a digest it does not have", code: ExitIntegrity, has: []string{"config " + zeroHex() + ".json", "digest mismatch"},
			build: func(t *testing.T) (string, []string) {
				n := zeroHex() + ".json"
				return archive(t, archMember{name: "manifest.json", body: manifest(n, "l/layer.tar")}, archMember{name: n, body: c1}, archMember{name: "l/layer.tar", body: layer})(t)
			}},
		{name: "archive truncated", code: ExitInput, has: []string{"$DIR"},
			build: func(t *testing.T) (string, []string) {
				ref, _ := archive(t, archMember{name: "manifest.json", body: manifest(c1Name, "l/layer.tar")}, archMember{name: c1Name, body: c1}, archMember{name: "l/layer.tar", body: layer})(t)
				fi, err := os.Stat(ref)
				noErr(t, err)
				noErr(t, os.Truncate(ref, fi.Size()-2500))
				return ref, nil
			}},
	}
	runHostile(t, cases)
}

// archMember is one archMember of a hand-built archive: a file, or a symlink when
// link is set.
type archMember struct {
	name string
	body []byte
	link string
}

func writeArchive(t *testing.T, p string, members ...archMember) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: tar.TypeReg, Size: int64(len(m.body)), Mode: 0o644}
		if m.link != "" {
			h = &tar.Header{Name: m.name, Typeflag: tar.TypeSymlink, Linkname: m.link, Mode: 0o777}
		}
		noErr(t, tw.WriteHeader(h))
		_, err := tw.Write(m.body)
		noErr(t, err)
	}
	noErr(t, tw.Close())
	putFile(t, p, buf.Bytes())
}

// Hand-made tar blocks, for what archive/tar refuses to write.

// block encodes h as one USTAR header block, then sets its type flag.
func tarBlock(h tar.Header, typeflag byte) []byte {
	var b bytes.Buffer
	h.Format = tar.FormatUSTAR
	h.Typeflag = tar.TypeReg
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&h); err != nil {
		panic(err)
	}
	blk := b.Bytes()[:512]
	blk[156] = typeflag
	copy(blk[148:156], "        ")
	sum := 0
	for _, c := range blk {
		sum += int(c)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return blk
}

func padded(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// paxRecords encodes PAX records ("LEN key=value\n", LEN counting itself).
func paxRecords(recs map[string]string) []byte {
	var out []byte
	for _, k := range slices.Sorted(maps.Keys(recs)) {
		rec := " " + k + "=" + recs[k] + "\n"
		n := len(rec)
		for {
			s := fmt.Sprint(n) + rec
			if len(s) == n {
				out = append(out, s...)
				break
			}
			n = len(s)
		}
	}
	return out
}

// paxHeaderOnly is a PAX extended header followed by a header of type
// typeflag for name, without data.
func paxHeaderOnly(recs map[string]string, typeflag byte, name string) []byte {
	data := paxRecords(recs)
	out := tarBlock(tar.Header{Name: "PaxHeaders/" + name, Size: int64(len(data)), Mode: 0o644}, tar.TypeXHeader)
	out = append(out, padded(data)...)
	return append(out, tarBlock(tar.Header{Name: name, Mode: 0o644}, typeflag)...)
}

// paxEntry is a PAX extended header and a regular file.
func paxEntry(recs map[string]string, name string, body []byte) []byte {
	data := paxRecords(recs)
	out := tarBlock(tar.Header{Name: "PaxHeaders/" + name, Size: int64(len(data)), Mode: 0o644}, tar.TypeXHeader)
	out = append(out, padded(data)...)
	out = append(out, tarBlock(tar.Header{Name: name, Size: int64(len(body)), Mode: 0o644}, tar.TypeReg)...)
	return append(out, padded(body)...)
}

// paxGlobal is a PAX global header.
func paxGlobal(recs map[string]string) []byte {
	data := paxRecords(recs)
	return append(tarBlock(tar.Header{Name: "GlobalHead", Size: int64(len(data)), Mode: 0o644}, tar.TypeXGlobalHeader), padded(data)...)
}

// sparseEntry is a GNU sparse file (PAX format 0.1) of logical size real
// whose only data is data, at offset 0.
func sparseEntry(name string, real int64, data string) []byte {
	return paxEntry(map[string]string{
		"GNU.sparse.size": fmt.Sprint(real), "GNU.sparse.numblocks": "1",
		"GNU.sparse.map": fmt.Sprintf("0,%d", len(data)), "GNU.sparse.name": name,
	}, name, []byte(data))
}

// fileHeader is the header of a regular file of the given size, with no
// data after it.
func fileHeader(name string, size int64) []byte {
	return paxHeaderOnly(map[string]string{"size": fmt.Sprint(size)}, tar.TypeReg, name)
}

// emptyFiles streams a tar of n empty files named by format.
func emptyFiles(n int, format string) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf(format, i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
				return err
			}
		}
		return tw.Close()
	}
}

// gzipBomb returns a gzip stream of prefix followed by about n zero bytes,
// without compressing n bytes: once the window is all zeros, deflating one
// more MiB of zeros gives the same bytes every time, so that chunk is
// repeated. The stream has no valid end (the caps must stop a reader long
// before it).
func gzipBomb(t *testing.T, prefix []byte, n int64) func(io.Writer) error {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	noErr(t, err)
	zeros := make([]byte, 1<<20)
	_, err = zw.Write(prefix)
	noErr(t, err)
	var chunks [][]byte
	for range 4 {
		noErr(t, zw.Flush())
		mark := buf.Len()
		_, err = zw.Write(zeros)
		noErr(t, err)
		noErr(t, zw.Flush())
		chunks = append(chunks, bytes.Clone(buf.Bytes()[mark:]))
	}
	if !bytes.Equal(chunks[2], chunks[3]) {
		t.Skip("deflate output of zeros does not repeat; cannot build the bomb cheaply")
	}
	head := bytes.Clone(buf.Bytes()[:buf.Len()-len(chunks[3])])
	return func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		for range n >> 20 {
			if _, err := w.Write(chunks[3]); err != nil {
				return err
			}
		}
		return nil
	}
}

// zstdBomb returns a zstd stream of prefix followed by about n zero bytes:
// one frame of 64 MiB of zeros (a few kB) repeated.
func zstdBomb(t *testing.T, prefix []byte, n int64) func(io.Writer) error {
	t.Helper()
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	noErr(t, err)
	defer func() { _ = zw.Close() }()
	head := zw.EncodeAll(prefix, nil)
	const frameSize = 64 << 20
	frame := zw.EncodeAll(make([]byte, frameSize), nil)
	return func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		for range n / frameSize {
			if _, err := w.Write(frame); err != nil {
				return err
			}
		}
		return nil
	}
}

// treeState records every path under root (see testsupport.TreeState).
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	s, err := testsupport.TreeState(root)
	noErr(t, err)
	return s
}

// TestCLIWritesNothing: analyze and ls, on good and bad images, leave the
// image and TMPDIR as they were (as root, a read-only mode would not stop
// a write, so the trees are compared instead).
func TestCLIWritesNothing(t *testing.T) {
	images := t.TempDir()
	good := filepath.Join(images, "good")
	_, err := fixtures.Sample().WriteOCILayout(good)
	noErr(t, err)
	bad := filepath.Join(images, "bad")
	w, err := fixtures.Sample().WriteOCILayout(bad)
	noErr(t, err)
	noErr(t, testsupport.CorruptBlob(bad, w.Layers[1].Digest))
	archive := filepath.Join(images, "img.tar")
	noErr(t, fixtures.Sample().WriteDockerArchive(archive, fixtures.DockerOCI, "x:1"))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	before := treeState(t, images)
	for _, args := range [][]string{
		{"analyze", good}, {"analyze", "--format", "json", "--exact-wire", good}, {"ls", good},
		{"analyze", bad}, {"analyze", "--max-layer-bytes", "10", good}, {"analyze", archive}, {"ls", archive},
	} {
		runCLI(t, args...)
	}
	after := treeState(t, images)
	for p, d := range after {
		if before[p] != d {
			t.Errorf("%s changed: %q -> %q", p, before[p], d)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d paths before, %d after", len(before), len(after))
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Errorf("TMPDIR holds %v (%v)", entries, err)
	}
}
