package source

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestStreams covers image-spec layer.md media types (gzip, zstd,
// uncompressed, non-distributable) and the digest rules of descriptor.md:
// the layer digest is over the blob, the diff_id over the uncompressed tar.
func TestStreams(t *testing.T) {
	t.Parallel()
	tarA := layerTar(t, "etc/a", strings.Repeat("a", 3000), "etc/b", "b")
	tarB := layerTar(t, "usr/c", strings.Repeat("c", 5000))
	zero := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	truncated := gz(t, tarA)
	truncated = truncated[:len(truncated)/2]
	withGarbage := append(gz(t, tarA), []byte("not gzip, not data")...)
	// Two members whose concatenated output is one tar, as estargz writes.
	multi := gzMembers(t, tarA[:1024], tarA[1024:])

	tests := []struct {
		name    string
		layer   testLayer
		verify  bool
		wantTar []byte
		comp    Compression
		mismat  bool // media type contradicted by magic
		trail   int64
		err     error
		errAt   string // "open" or "read"
		errHas  []string
	}{
		{name: "gzip", layer: testLayer{tar: tarA, blob: gz(t, tarA), mt: types.OCILayer}, verify: true, wantTar: tarA, comp: CompressionGzip},
		{name: "docker gzip", layer: testLayer{tar: tarA, blob: gz(t, tarA), mt: types.DockerLayer}, verify: true, wantTar: tarA, comp: CompressionGzip},
		{name: "zstd", layer: testLayer{tar: tarA, blob: zst(t, tarA), mt: types.OCILayerZStd}, verify: true, wantTar: tarA, comp: CompressionZstd},
		{name: "uncompressed", layer: testLayer{tar: tarA, mt: types.OCIUncompressedLayer}, verify: true, wantTar: tarA, comp: CompressionNone},
		{name: "estargz-like multi-member gzip", layer: testLayer{tar: tarA, blob: multi, mt: types.OCILayer}, verify: true, wantTar: tarA, comp: CompressionGzip},
		{name: "gzip media type, zstd bytes", layer: testLayer{tar: tarA, blob: zst(t, tarA), mt: types.OCILayer}, verify: true, wantTar: tarA, comp: CompressionZstd, mismat: true},
		{name: "gzip media type, plain tar", layer: testLayer{tar: tarA, mt: types.OCILayer}, verify: true, wantTar: tarA, comp: CompressionNone, mismat: true},
		{name: "zstd media type, gzip bytes", layer: testLayer{tar: tarB, blob: gz(t, tarB), mt: types.OCILayerZStd}, verify: true, wantTar: tarB, comp: CompressionGzip, mismat: true},
		{
			name:  "compressed digest mismatch",
			layer: testLayer{tar: tarA, blob: gz(t, tarA), mt: types.OCILayer, digest: &zero}, verify: true,
			err: ErrDigestMismatch, errAt: "read", errHas: []string{"layer 0", "expected " + zero.String(), "actual " + sha256Hash(gz(t, tarA)).String()},
		},
		{
			name:  "diff_id mismatch",
			layer: testLayer{tar: tarA, blob: gz(t, tarA), mt: types.OCILayer, diffID: &zero}, verify: true,
			err: ErrDigestMismatch, errAt: "read", errHas: []string{"diff_id", "expected " + zero.String(), "actual " + sha256Hash(tarA).String()},
		},
		{
			// One hash serves both digests of an uncompressed blob; each is
			// still held to its own value.
			name:  "uncompressed diff_id mismatch",
			layer: testLayer{tar: tarA, mt: types.OCIUncompressedLayer, diffID: &zero}, verify: true,
			err: ErrDigestMismatch, errAt: "read", errHas: []string{"diff_id", "expected " + zero.String(), "actual " + sha256Hash(tarA).String()},
		},
		{
			name:  "uncompressed digest mismatch",
			layer: testLayer{tar: tarA, mt: types.OCIUncompressedLayer, digest: &zero}, verify: true,
			err: ErrDigestMismatch, errAt: "read", errHas: []string{"blob digest", "expected " + zero.String(), "actual " + sha256Hash(tarA).String()},
		},
		{
			name:    "mismatch ignored without verify",
			layer:   testLayer{tar: tarA, blob: gz(t, tarA), mt: types.OCILayer, digest: &zero, diffID: &zero},
			wantTar: tarA, comp: CompressionGzip,
		},
		{
			name: "trailing garbage after gzip changes the blob digest",
			// The descriptor names the clean gzip stream; the stored blob
			// has garbage appended.
			layer:  testLayer{tar: tarA, blob: withGarbage, mt: types.OCILayer, digest: ptr(sha256Hash(gz(t, tarA)))},
			verify: true, err: ErrDigestMismatch, errAt: "read",
		},
		{
			name:    "trailing garbage is not data",
			layer:   testLayer{tar: tarA, blob: withGarbage, mt: types.OCILayer},
			verify:  true, // the descriptor covers the garbage: digests hold
			wantTar: tarA, comp: CompressionGzip, trail: int64(len("not gzip, not data")),
		},
		{
			name:  "truncated gzip",
			layer: testLayer{tar: tarA, blob: truncated, mt: types.OCILayer}, verify: false,
			err: io.ErrUnexpectedEOF, errAt: "read", errHas: []string{"decompressing layer 0"},
		},
		{
			name:  "xz refused",
			layer: testLayer{tar: tarA, blob: []byte("\xfd7zXZ\x00rest"), mt: types.OCILayer}, verify: true,
			err: ErrInvalid, errAt: "open", errHas: []string{"xz"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newLayout()
			o.top(t, o.image(t, nil, tc.layer))
			src, err := Open(o.files.writeTar(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			l := src.Images()[0].Layers[0]
			s, err := l.Open(tc.verify)
			if tc.errAt == "open" {
				wantErr(t, err, tc.err, tc.errHas...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, s)
			got, err := io.ReadAll(s)
			if tc.errAt == "read" {
				wantErr(t, err, tc.err, tc.errHas...)
				// The error is sticky: a retry cannot turn it into EOF.
				if _, err2 := s.Read(make([]byte, 1)); !errors.Is(err2, tc.err) {
					t.Errorf("second read: %v", err2)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.wantTar) {
				t.Fatalf("stream differs from the layer tar (%d vs %d bytes)", len(got), len(tc.wantTar))
			}
			st := s.Stats()
			if st.Compression != tc.comp || st.MediaTypeMismatch() != tc.mismat || st.Trailing != tc.trail {
				t.Errorf("stats %+v, want compression %v mismatch %v trailing %d", st, tc.comp, tc.mismat, tc.trail)
			}
			if st.Compressed != int64(len(tc.layer.stored())) || st.Uncompressed != int64(len(tc.wantTar)) {
				t.Errorf("counted %d/%d, want %d/%d", st.Compressed, st.Uncompressed, len(tc.layer.stored()), len(tc.wantTar))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestStreamSizeMismatch: a blob longer than its descriptor fails
// verification even when the digest was computed over the longer blob.
func TestStreamSizeMismatch(t *testing.T) {
	t.Parallel()
	tarA := layerTar(t, "a", "b")
	o := newLayout()
	d := o.image(t, nil, testLayer{tar: tarA})
	m := v1.Manifest{}
	raw := o.files["blobs/sha256/"+d.Digest.Hex]
	if err := jsonUnmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m.Layers[0].Size--
	o.top(t, o.blob(types.OCIManifestSchema1, mustJSON(t, m)))
	s := openFirstLayer(t, o)
	closeT(t, s)
	_, err := io.ReadAll(s)
	wantErr(t, err, ErrDigestMismatch, "size")
}

// TestForeignLayer covers non-distributable layers (image-spec layer.md):
// absent blob → Missing, not an error; an absent ordinary blob → ErrNotFound.
func TestForeignLayer(t *testing.T) {
	t.Parallel()
	base := layerTar(t, "Windows/x", "y")
	top := layerTar(t, "app", "z")
	o := newLayout()
	o.top(t, o.image(t, nil,
		testLayer{tar: base, blob: gz(t, base), mt: types.OCIRestrictedLayer, omit: true, urls: []string{"https://example.invalid/base"}},
		testLayer{tar: top, blob: gz(t, top), mt: types.OCILayer}))
	src, err := Open(o.files.writeDir(t), Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	ls := src.Images()[0].Layers
	if !ls[0].Missing || !strings.Contains(ls[0].MissingReason, "example.invalid") || ls[1].Missing {
		t.Fatalf("missing flags %v %q / %v", ls[0].Missing, ls[0].MissingReason, ls[1].Missing)
	}
	if _, err := ls[0].Open(true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("opening missing layer: %v", err)
	}
	s, err := ls[1].Open(true)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	if _, err := io.Copy(io.Discard, s); err != nil {
		t.Fatal(err)
	}
}

// TestStreamStoppedEarly: a consumer that stops reading a layer of many
// chunks (the decoding goroutine then waits for a free buffer) can check
// the blob or close the stream, and reads nothing after.
func TestStreamStoppedEarly(t *testing.T) {
	t.Parallel()
	big := layerTar(t, "big", strings.Repeat("0123456789abcdef", streamChunks*streamChunkSize/8))
	zero := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	tests := []struct {
		name   string
		layer  testLayer
		verify bool // VerifyBlob instead of Close, and want this error
		err    error
	}{
		{name: "uncompressed, closed", layer: testLayer{tar: big}},
		{name: "gzip, closed", layer: testLayer{tar: big, blob: gz(t, big), mt: types.OCILayer}},
		{name: "gzip, blob verified", layer: testLayer{tar: big, blob: gz(t, big), mt: types.OCILayer}, verify: true},
		{name: "uncompressed, bad blob verified", layer: testLayer{tar: big, digest: &zero}, verify: true, err: ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newLayout()
			o.top(t, o.image(t, nil, tc.layer))
			s := openFirstLayer(t, o)
			if _, err := io.ReadFull(s, make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
			if tc.verify {
				wantErr(t, s.VerifyBlob(), tc.err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Read(make([]byte, 10)); n != 0 || !errors.Is(err, fs.ErrClosed) {
				t.Errorf("read after stopping: %d bytes, %v", n, err)
			}
		})
	}
}

// openFirstLayer writes o, opens it and returns the verifying stream of
// its first image's first layer; the source is closed with the test.
func openFirstLayer(t *testing.T, o *ociLayout) *Stream {
	t.Helper()
	src, err := Open(o.files.writeDir(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	s, err := src.Images()[0].Layers[0].Open(true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
