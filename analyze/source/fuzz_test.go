package source

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzDockerManifest feeds arbitrary bytes as manifest.json and as an
// image config; opening must fail with a sentinel error or succeed.
func FuzzDockerManifest(f *testing.F) {
	lt := layerTar(f, "a", "b")
	d := newDockerArchive()
	d.image(f, []string{"x:1"}, testLayer{tar: lt})
	cfgName := d.manifest[0]["Config"].(string)
	f.Add(mustJSON(f, d.manifest), d.files[cfgName])
	f.Add([]byte(`[{"Config":"c.json","Layers":["l"],"LayerSources":{"sha256:`+sha256Hash(nil).Hex+`":{"size":-1}}}]`), []byte(`{"rootfs":{"diff_ids":[]}}`))
	f.Fuzz(func(t *testing.T, manifest, config []byte) {
		st := memStore{"manifest.json": manifest, "c.json": config}
		for k, v := range d.files {
			st[k] = v
		}
		dr := &dockerReader{st: st, verify: true, origin: "fuzz"}
		imgs, err := dr.images(Reference{Index: -1}, platformSpec{mode: platformHost})
		if err != nil {
			if !hasSentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		for _, img := range imgs {
			for _, l := range img.Layers {
				if s, err := l.Open(true); err == nil {
					_, _ = io.Copy(io.Discard, s)
					_ = s.Close()
				}
			}
		}
	})
}

// FuzzStream feeds arbitrary blobs under each layer media type: decoding
// must end in EOF or an error, never a panic, and never run away.
func FuzzStream(f *testing.F) {
	lt := layerTar(f, "a", "b")
	f.Add(gz(f, lt), uint8(0))
	f.Add(zst(f, lt), uint8(1))
	f.Add(lt, uint8(2))
	f.Add(append(gzMembers(f, lt[:100], lt[100:]), 0, 0, 0), uint8(0))
	mts := []types.MediaType{types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer, types.DockerLayer}
	f.Fuzz(func(t *testing.T, blob []byte, mt uint8) {
		h := sha256Hash(blob)
		l := &Layer{
			Digest: h, DiffID: v1.Hash{Algorithm: "sha256", Hex: h.Hex}, Size: int64(len(blob)),
			MediaType: mts[int(mt)%len(mts)], st: memStore{"b": blob}, blob: "b", manifest: "fuzz",
		}
		s, err := l.Open(true)
		if err != nil {
			return
		}
		defer func() { _ = s.Close() }()
		// Bound the output: a small blob may legitimately expand a lot.
		if _, err := io.CopyN(io.Discard, s, 64<<20); err != nil && !errors.Is(err, io.EOF) {
			return
		}
		if st := s.Stats(); st.Compressed > int64(len(blob)) {
			t.Fatalf("counted %d compressed bytes of %d", st.Compressed, len(blob))
		}
	})
}

// FuzzIndexTar feeds arbitrary archives to the tar indexer and resolves
// every member: malformed headers and link loops end in errors.
func FuzzIndexTar(f *testing.F) {
	f.Add(mkTar(f, tfile{name: "a/layer.tar", body: "x"}, tfile{name: "b/layer.tar", typ: tar.TypeSymlink, link: "../a/layer.tar"}))
	f.Add(mkTar(f, tfile{name: "l1", typ: tar.TypeSymlink, link: "l2"}, tfile{name: "l2", typ: tar.TypeSymlink, link: "/l1"}))
	f.Add(mkTar(f, tfile{name: "h", typ: tar.TypeLink, link: "h"}, tfile{name: "d/", typ: tar.TypeDir}))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := indexTar(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		ts := &tarStore{path: "fuzz", entries: entries}
		for name := range entries {
			e, err := ts.lookup(name)
			if err == nil && (e.kind != tarRegular || e.offset < 0 || e.offset > int64(len(b))) {
				t.Fatalf("lookup %s = %+v", name, e)
			}
		}
	})
}
