package source

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// tfile is one member of a tar built by a test.
type tfile struct {
	name string
	body string
	typ  byte // tar.TypeReg when zero
	link string
}

func mkTar(t testing.TB, files ...tfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: f.typ, Linkname: f.link, Format: tar.FormatPAX}
		switch f.typ {
		case 0, tar.TypeReg:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerTar builds a layer tar from name, content pairs.
func layerTar(t testing.TB, kv ...string) []byte {
	t.Helper()
	var fs []tfile
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, tfile{name: kv[i], body: kv[i+1]})
	}
	return mkTar(t, fs...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzMembers compresses each part as its own gzip member, as estargz does.
func gzMembers(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		out = append(out, gz(t, p)...)
	}
	return out
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := zw.EncodeAll(b, nil)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testLayer describes a layer for the builders.
type testLayer struct {
	tar  []byte
	blob []byte          // stored bytes; the tar itself when nil
	mt   types.MediaType // OCIUncompressedLayer when empty
	// omit leaves the blob out of the image.
	omit bool
	// digest overrides the descriptor digest; diffID the config diff_id.
	digest, diffID *v1.Hash
	urls           []string
}

func (l testLayer) stored() []byte {
	if l.blob != nil {
		return l.blob
	}
	return l.tar
}

// files is an image being built in memory: path → content.
type files map[string][]byte

func (f files) writeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range f.names() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (f files) names() []string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// writeTar writes the files (plus extra members, e.g. symlinks) as a tar.
func (f files) writeTar(t testing.TB, extra ...tfile) string {
	t.Helper()
	var members []tfile
	for _, n := range f.names() {
		members = append(members, tfile{name: n, body: string(f[n])})
	}
	members = append(members, extra...)
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, mkTar(t, members...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ociLayout builds an OCI image layout in memory.
type ociLayout struct {
	files files
}

func newLayout() *ociLayout {
	return &ociLayout{files: files{specs.ImageLayoutFile: []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
}

func (o *ociLayout) blob(mt types.MediaType, b []byte) v1.Descriptor {
	h := sha256Hash(b)
	o.files["blobs/sha256/"+h.Hex] = b
	return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: h}
}

// image stores a config, layers and manifest; it returns the manifest
// descriptor, with platform set when given.
func (o *ociLayout) image(t testing.TB, platform *v1.Platform, layers ...testLayer) v1.Descriptor {
	t.Helper()
	cfg := v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}}
	if platform != nil {
		cfg.OS, cfg.Architecture, cfg.Variant = platform.OS, platform.Architecture, platform.Variant
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	for _, l := range layers {
		diffID := sha256Hash(l.tar)
		if l.diffID != nil {
			diffID = *l.diffID
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
		mt := l.mt
		if mt == "" {
			mt = types.OCIUncompressedLayer
		}
		var d v1.Descriptor
		if l.omit {
			d = v1.Descriptor{MediaType: mt, Size: int64(len(l.stored())), Digest: sha256Hash(l.stored())}
		} else {
			d = o.blob(mt, l.stored())
		}
		if l.digest != nil {
			// The blob is stored under the claimed digest: corrupt content.
			if !l.omit {
				delete(o.files, "blobs/sha256/"+d.Digest.Hex)
				o.files["blobs/sha256/"+l.digest.Hex] = l.stored()
			}
			d.Digest = *l.digest
		}
		d.URLs = l.urls
		m.Layers = append(m.Layers, d)
	}
	m.Config = o.blob(types.OCIConfigJSON, mustJSON(t, cfg))
	d := o.blob(types.OCIManifestSchema1, mustJSON(t, m))
	d.Platform = platform
	return d
}

// index stores an image index listing descs.
func (o *ociLayout) index(t testing.TB, descs ...v1.Descriptor) v1.Descriptor {
	t.Helper()
	return o.blob(types.OCIImageIndex, mustJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}))
}

// top writes index.json.
func (o *ociLayout) top(t testing.TB, descs ...v1.Descriptor) {
	t.Helper()
	o.files["index.json"] = mustJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
}

func tagged(d v1.Descriptor, tag string) v1.Descriptor {
	d.Annotations = map[string]string{specs.AnnotationRefName: tag}
	return d
}

// dockerArchive builds a classic `docker save` tarball in memory.
type dockerArchive struct {
	files    files
	manifest []map[string]any
	links    []tfile
}

func newDockerArchive() *dockerArchive { return &dockerArchive{files: files{}} }

// image adds an image whose layers are stored as <id>/layer.tar; a layer
// whose tar equals an earlier one's is stored as a symlink to it, as docker
// does.
func (d *dockerArchive) image(t testing.TB, tags []string, layers ...testLayer) {
	t.Helper()
	cfg := v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}}
	var paths []string
	seen := map[string]string{}
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, sha256Hash(l.tar))
		id := sha256Hash([]byte(fmt.Sprintf("%v %d %d", tags, len(d.manifest), i))).Hex
		p := id + "/layer.tar"
		paths = append(paths, p)
		switch first, dup := seen[string(l.stored())]; {
		case l.omit:
		case dup:
			d.links = append(d.links, tfile{name: p, typ: tar.TypeSymlink, link: "../" + first})
		default:
			seen[string(l.stored())] = p
			d.files[p] = l.stored()
		}
	}
	raw := mustJSON(t, cfg)
	cfgName := sha256Hash(raw).Hex + ".json"
	d.files[cfgName] = raw
	d.manifest = append(d.manifest, map[string]any{"Config": cfgName, "RepoTags": tags, "Layers": paths})
}

func (d *dockerArchive) write(t testing.TB) string {
	t.Helper()
	d.files["manifest.json"] = mustJSON(t, d.manifest)
	return d.files.writeTar(t, d.links...)
}

// readAllLayers streams every layer of img, returning the tars.
func readAllLayers(t testing.TB, img *Image, verify bool) [][]byte {
	t.Helper()
	var out [][]byte
	for _, l := range img.Layers {
		s, err := l.Open(verify)
		if err != nil {
			t.Fatalf("opening layer %d: %v", l.Index, err)
		}
		b, err := io.ReadAll(s)
		if err != nil {
			t.Fatalf("reading layer %d: %v", l.Index, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func wantErr(t testing.TB, err, sentinel error, contains ...string) {
	t.Helper()
	if sentinel == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not mention %q", err, c)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// closeT closes c when the test ends, failing it on error.
func closeT(t testing.TB, c io.Closer) {
	t.Helper()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
}
