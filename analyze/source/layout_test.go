package source

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// openBoth opens the layout as a directory and as an OCI archive (packed in
// a tar), so each case covers both stores. sel is "", ":TAG" or "@DIGEST".
func openBoth(t *testing.T, o *ociLayout, sel string, opts Options) (dir, archive *Source, dirErr, archiveErr error) {
	t.Helper()
	dirSrc, dErr := Open("oci:"+o.files.writeDir(t)+sel, opts)
	arSrc, aErr := Open("oci-archive:"+o.files.writeTar(t)+sel, opts)
	for _, s := range []*Source{dirSrc, arSrc} {
		if s != nil {
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	return dirSrc, arSrc, dErr, aErr
}

// TestLayoutSelection covers image-spec image-layout.md: index.json entries
// selected by org.opencontainers.image.ref.name, by digest or as the only
// one, and nested indexes.
func TestLayoutSelection(t *testing.T) {
	t.Parallel()
	l1 := layerTar(t, "a", "one")
	l2 := layerTar(t, "b", "two")
	type result struct {
		err      error
		contains []string
		layers   int
		ref      string
	}
	tests := []struct {
		name  string
		build func(t *testing.T, o *ociLayout) (sel string)
		want  result
		// noVerify skips blob digest checks, without which a cycle can
		// exist at all (content addressing forbids it otherwise).
		noVerify bool
	}{
		{
			name: "only one",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, o.image(t, nil, testLayer{tar: l1}, testLayer{tar: l2}))
				return ""
			},
			want: result{layers: 2},
		},
		{
			name: "by tag",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, tagged(o.image(t, nil, testLayer{tar: l1}), "v1"), tagged(o.image(t, nil, testLayer{tar: l1}, testLayer{tar: l2}), "v2"))
				return ":v2"
			},
			want: result{layers: 2, ref: "v2"},
		},
		{
			name: "tag not found",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, tagged(o.image(t, nil, testLayer{tar: l1}), "v1"))
				return ":v9"
			},
			want: result{err: ErrNotFound, contains: []string{`"v9"`, "v1"}},
		},
		{
			name: "by digest",
			build: func(t *testing.T, o *ociLayout) string {
				a := o.image(t, nil, testLayer{tar: l1})
				b := o.image(t, nil, testLayer{tar: l1}, testLayer{tar: l2})
				o.top(t, a, b)
				return "@" + b.Digest.String()
			},
			want: result{layers: 2},
		},
		{
			name: "by digest inside nested index",
			build: func(t *testing.T, o *ociLayout) string {
				b := o.image(t, &v1.Platform{OS: "linux", Architecture: "s390x"}, testLayer{tar: l1}, testLayer{tar: l2})
				o.top(t, o.image(t, nil, testLayer{tar: l1}), o.index(t, b))
				return "@" + b.Digest.String()
			},
			want: result{layers: 2},
		},
		{
			name: "digest not found",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, o.image(t, nil, testLayer{tar: l1}))
				return "@sha256:" + strings.Repeat("0", 64)
			},
			want: result{err: ErrNotFound, contains: []string{strings.Repeat("0", 64)}},
		},
		{
			name: "ambiguous",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, tagged(o.image(t, nil, testLayer{tar: l1}), "v1"), tagged(o.image(t, nil, testLayer{tar: l2}), "v2"))
				return ""
			},
			want: result{err: ErrAmbiguous, contains: []string{"v1", "v2"}},
		},
		{
			name: "empty index",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t)
				return ""
			},
			want: result{err: ErrNotFound},
		},
		{
			name: "nested index",
			build: func(t *testing.T, o *ociLayout) string {
				img := o.image(t, nil, testLayer{tar: l1}, testLayer{tar: l2})
				o.top(t, tagged(o.index(t, o.index(t, img)), "deep"))
				return ":deep"
			},
			want: result{layers: 2, ref: "deep"},
		},
		{
			name: "nesting too deep",
			build: func(t *testing.T, o *ociLayout) string {
				d := o.image(t, nil, testLayer{tar: l1})
				for range maxIndexDepth + 1 {
					d = o.index(t, d)
				}
				o.top(t, d)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"nested deeper"}},
		},
		{
			name: "index cycle",
			build: func(t *testing.T, o *ociLayout) string {
				// An index listing itself: stored under a digest that is
				// not its own, as only an unverified layout can.
				img := o.image(t, nil, testLayer{tar: l1})
				self := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}
				body := mustJSON(t, v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{
					{MediaType: types.OCIImageIndex, Digest: self, Size: 1},
					img,
				}})
				o.files["blobs/sha256/"+self.Hex] = body
				o.top(t, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: self, Size: int64(len(body))})
				return ""
			},
			want:     result{err: ErrInvalid, contains: []string{"cycle"}},
			noVerify: true,
		},
		{
			name: "missing manifest blob",
			build: func(t *testing.T, o *ociLayout) string {
				d := o.image(t, nil, testLayer{tar: l1})
				delete(o.files, "blobs/sha256/"+d.Digest.Hex)
				o.top(t, d)
				return ""
			},
			want: result{err: ErrNotFound, contains: []string{"index.json", "blob sha256:"}},
		},
		{
			name: "missing layer blob",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, o.image(t, nil, testLayer{tar: l1, omit: true}))
				return ""
			},
			want: result{err: ErrNotFound, contains: []string{sha256Hash(l1).String(), "needed by manifest sha256:"}},
		},
		{
			name: "malformed index.json",
			build: func(t *testing.T, o *ociLayout) string {
				o.files["index.json"] = []byte(`{"schemaVersion":2,"manifests":[`)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"index.json"}},
		},
		{
			name: "bad schemaVersion",
			build: func(t *testing.T, o *ociLayout) string {
				o.files["index.json"] = []byte(`{"schemaVersion":1,"manifests":[]}`)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"schemaVersion"}},
		},
		{
			name: "bad digest",
			build: func(t *testing.T, o *ociLayout) string {
				o.files["index.json"] = []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:XYZ","size":3}]}`)
				return ""
			},
			want: result{err: ErrInvalid},
		},
		{
			name: "negative size",
			build: func(t *testing.T, o *ociLayout) string {
				d := o.image(t, nil, testLayer{tar: l1})
				d.Size = -1
				o.top(t, d)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"size -1"}},
		},
		{
			name: "missing oci-layout",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, o.image(t, nil, testLayer{tar: l1}))
				o.files["oci-layout"] = []byte(`{"imageLayoutVersion":"2.0.0"}`)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"imageLayoutVersion"}},
		},
		{
			name: "layer with a non-layer media type",
			build: func(t *testing.T, o *ociLayout) string {
				o.top(t, o.image(t, nil, testLayer{tar: l1, mt: "application/vnd.cncf.helm.chart.content.v1.tar+gzip"}))
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"helm"}},
		},
		{
			name: "manifest with wrong media type",
			build: func(t *testing.T, o *ociLayout) string {
				d := o.blob(types.OCIManifestSchema1, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{},"layers":[]}`))
				o.top(t, d)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"media type"}},
		},
		{
			name: "malformed config",
			build: func(t *testing.T, o *ociLayout) string {
				cfg := o.blob(types.OCIConfigJSON, []byte(`{"rootfs":`))
				m := o.blob(types.OCIManifestSchema1, mustJSON(t, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg}))
				o.top(t, m)
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"config " + sha256Hash([]byte(`{"rootfs":`)).String()}},
		},
		{
			name: "diff_ids count mismatch",
			build: func(t *testing.T, o *ociLayout) string {
				cfg := o.blob(types.OCIConfigJSON, []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
				lay := o.blob(types.OCIUncompressedLayer, l1)
				o.top(t, o.blob(types.OCIManifestSchema1, mustJSON(t, v1.Manifest{SchemaVersion: 2, Config: cfg, Layers: []v1.Descriptor{lay}})))
				return ""
			},
			want: result{err: ErrInvalid, contains: []string{"diff_ids"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newLayout()
			sel := tc.build(t, o)
			dir, ar, dErr, aErr := openBoth(t, o, sel, Options{Verify: !tc.noVerify})
			for i, c := range []struct {
				src *Source
				err error
			}{{dir, dErr}, {ar, aErr}} {
				form := []string{"dir", "archive"}[i]
				if tc.want.err != nil {
					if c.err == nil {
						t.Fatalf("%s: no error, want %v", form, tc.want.err)
					}
					wantErr(t, c.err, tc.want.err, tc.want.contains...)
					continue
				}
				if c.err != nil {
					t.Fatalf("%s: %v", form, c.err)
				}
				imgs := c.src.Images()
				if len(imgs) != 1 {
					t.Fatalf("%s: %d images", form, len(imgs))
				}
				img := imgs[0]
				if len(img.Layers) != tc.want.layers || img.Ref != tc.want.ref {
					t.Fatalf("%s: %d layers ref %q, want %d %q", form, len(img.Layers), img.Ref, tc.want.layers, tc.want.ref)
				}
				if want := []Format{FormatOCILayout, FormatOCIArchive}[i]; img.Format != want {
					t.Errorf("%s: format %v, want %v", form, img.Format, want)
				}
				readAllLayers(t, img, true)
			}
		})
	}
}

// TestPlatformSelection covers image-spec image-index.md platform entries.
func TestPlatformSelection(t *testing.T) {
	t.Parallel()
	host := &v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	other := &v1.Platform{OS: "linux", Architecture: "riscv64"}
	if host.Architecture == other.Architecture {
		other = &v1.Platform{OS: "linux", Architecture: "s390x"}
	}
	arm := &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	l1 := layerTar(t, "x", "1")

	multi := func(t *testing.T, plats ...*v1.Platform) *ociLayout {
		o := newLayout()
		var ds []v1.Descriptor
		for _, p := range plats {
			ds = append(ds, o.image(t, p, testLayer{tar: l1}))
		}
		// A buildx attestation manifest is not an image to select.
		att := o.image(t, &v1.Platform{OS: "unknown", Architecture: "unknown"}, testLayer{tar: l1})
		att.Annotations = map[string]string{annotationDockerRefType: "attestation-manifest"}
		ds = append(ds, att)
		o.top(t, tagged(o.index(t, ds...), "latest"))
		return o
	}
	single := func(t *testing.T, p *v1.Platform) *ociLayout {
		o := newLayout()
		d := o.image(t, p, testLayer{tar: l1})
		d.Platform = nil // platform only in the config
		o.top(t, d)
		return o
	}
	tests := []struct {
		name     string
		layout   func(t *testing.T) *ociLayout
		platform string
		want     []string
		err      error
		contains []string
	}{
		{name: "host", layout: func(t *testing.T) *ociLayout { return multi(t, other, host) }, want: []string{host.String()}},
		{name: "explicit", layout: func(t *testing.T) *ociLayout { return multi(t, host, other) }, platform: other.String(), want: []string{other.String()}},
		{name: "arm64 matches v8", layout: func(t *testing.T) *ociLayout { return multi(t, host, arm) }, platform: "linux/arm64", want: []string{arm.String()}},
		{name: "all skips attestations", layout: func(t *testing.T) *ociLayout { return multi(t, host, other) }, platform: "all", want: []string{host.String(), other.String()}},
		{name: "missing host", layout: func(t *testing.T) *ociLayout { return multi(t, other, arm) }, err: ErrNoMatchingPlatform, contains: []string{other.String(), "linux/arm64/v8"}},
		{name: "missing explicit", layout: func(t *testing.T) *ociLayout { return multi(t, host, other) }, platform: "windows/amd64", err: ErrNoMatchingPlatform, contains: []string{host.String()}},
		{name: "single ignores host", layout: func(t *testing.T) *ociLayout { return single(t, other) }, want: []string{other.String()}},
		{name: "single matching explicit", layout: func(t *testing.T) *ociLayout { return single(t, other) }, platform: other.String(), want: []string{other.String()}},
		{name: "single conflicting", layout: func(t *testing.T) *ociLayout { return single(t, other) }, platform: "windows/arm64", err: ErrNoMatchingPlatform, contains: []string{other.String()}},
		{name: "bad platform", layout: func(t *testing.T) *ociLayout { return single(t, other) }, platform: "linux", err: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(tc.layout(t).files.writeDir(t), Options{Platform: tc.platform, Verify: true})
			if tc.err != nil {
				wantErr(t, err, tc.err, tc.contains...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			closeT(t, src)
			var got []string
			for _, img := range src.Images() {
				got = append(got, platformString(img.Platform))
				if img.Config.Architecture != img.Platform.Architecture {
					t.Errorf("config arch %s, platform %s", img.Config.Architecture, img.Platform)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("platforms %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzOpenLayout feeds arbitrary bytes as index.json and as a manifest
// blob; opening must fail cleanly with a sentinel error or succeed, never
// panic.
func FuzzOpenLayout(f *testing.F) {
	o := newLayout()
	d := o.image(f, nil, testLayer{tar: layerTar(f, "a", "b")})
	o.top(f, d)
	f.Add(o.files["index.json"], o.files["blobs/sha256/"+d.Digest.Hex])
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:`+strings.Repeat("0", 64)+`","size":5}]}`), []byte(`{"manifests":[]}`))
	f.Fuzz(func(t *testing.T, index, manifest []byte) {
		st := memStore{}
		for k, v := range o.files {
			st[k] = v
		}
		st["index.json"] = index
		// The fuzzed manifest is reachable under a fixed digest, so that an
		// index pointing there exercises the manifest parser too.
		st["blobs/sha256/"+strings.Repeat("0", 64)] = manifest
		for _, verify := range []bool{false, true} {
			lr := &layoutReader{st: st, verify: verify, origin: "fuzz", format: FormatOCILayout}
			imgs, err := lr.images(Reference{Index: -1}, platformSpec{mode: platformAll})
			if err != nil {
				if !hasSentinel(err) {
					t.Fatalf("error without sentinel: %v", err)
				}
				return
			}
			for _, img := range imgs {
				for _, l := range img.Layers {
					if s, err := l.Open(verify); err == nil {
						_ = s.Close()
					}
				}
			}
		}
	})
}

// memStore is an in-memory store for fuzzing.
type memStore map[string][]byte

func (m memStore) open(name string) (rc io.ReadCloser, size int64, err error) {
	b, ok := m[cleanName(name)]
	if !ok {
		return nil, 0, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (m memStore) stat(name string) (int64, error) {
	b, ok := m[cleanName(name)]
	if !ok {
		return 0, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return int64(len(b)), nil
}

func (m memStore) readAt(name string, p []byte, off int64) (int, error) {
	b, ok := m[cleanName(name)]
	if !ok {
		return 0, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return bytes.NewReader(b).ReadAt(p, off)
}

func (m memStore) has(name string) bool { _, ok := m[cleanName(name)]; return ok }
func (m memStore) close() error         { return nil }
