package squash_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// TestAutoAndReorder covers the minimal squash and its moves.
func TestAutoAndReorder(t *testing.T) {
	t.Parallel()
	base := fixtures.NewLayer().Dir("usr").File("usr/lib", bytesOf("L", 100))
	tests := []struct {
		name   string
		layers []*fixtures.Layer
		opts   squash.Options
		want   string // Plan.String
	}{
		{
			name: "commuting layer moves out of the merge",
			layers: []*fixtures.Layer{
				base,
				fixtures.NewLayer().Dir("data").File("data/blob", bytesOf("B", 4000)),
				fixtures.NewLayer().Dir("app").File("app/main", bytesOf("M", 100)),
				fixtures.NewLayer().Whiteout("data/blob"),
			},
			opts: squash.Options{Mode: squash.SquashAuto, BaseLayers: 1},
			want: "0 2 [1+3]",
		},
		{
			name: "non-commuting layer is merged, not moved",
			layers: []*fixtures.Layer{
				base,
				fixtures.NewLayer().Dir("data").File("data/blob", bytesOf("B", 4000)),
				fixtures.NewLayer().Dir("data", fixtures.Mode(0o700)),
				fixtures.NewLayer().Dir("data", fixtures.Mode(0o750)).Whiteout("data/blob"),
			},
			opts: squash.Options{Mode: squash.SquashAuto, BaseLayers: 1},
			want: "0 [1+2+3]",
		},
		{
			name: "a layer that wastes its own bytes is rewritten alone",
			layers: []*fixtures.Layer{
				base,
				fixtures.NewLayer().File("x", bytesOf("1", 500)).File("x", bytesOf("2", 500)),
				fixtures.NewLayer().File("y", []byte("y")),
			},
			opts: squash.Options{Mode: squash.SquashAuto, BaseLayers: 1},
			want: "0 [1] 2",
		},
		{
			name: "reorder: package layer moves below the app layer it commutes with",
			layers: []*fixtures.Layer{
				base,
				fixtures.NewLayer().File("app/main", []byte("m")),
				fixtures.NewLayer().File("usr/bin/tool", bytesOf("T", 300)),
			},
			opts: squash.Options{Reorder: true, BaseLayers: 1},
			want: "0 2 1",
		},
		{
			name: "reorder: layers that do not commute keep their order",
			layers: []*fixtures.Layer{
				base,
				fixtures.NewLayer().File("usr/bin/tool", []byte("m")),
				fixtures.NewLayer().File("usr/bin/tool", bytesOf("T", 300)),
			},
			opts: squash.Options{Reorder: true, BaseLayers: 1},
			want: "0 1 2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := fixtures.NewImage()
			for i, l := range tc.layers {
				cmd := "COPY app /app"
				if i == 2 {
					cmd = "RUN apt-get install -y tool"
				}
				img.Add(l, fixtures.CreatedBy(cmd))
			}
			ref := filepath.Join(t.TempDir(), "src")
			if _, err := img.WriteOCILayout(ref); err != nil {
				t.Fatal(err)
			}
			r := fix(t, ref, tc.opts, squash.Target{Kind: squash.OutputLayout})
			p := r.outcome.Results[0].Plan
			if got := p.String(); got != tc.want {
				t.Errorf("plan %q, want %q; notes:\n%s", got, tc.want, strings.Join(p.Notes, "\n"))
			}
		})
	}
}

func TestBadPlans(t *testing.T) {
	t.Parallel()
	ref := stack(t, fixtures.NewLayer().File("a", nil), fixtures.NewLayer().File("b", nil), fixtures.NewLayer().File("c", nil))
	a := analyzeAll(t, ref, "", 1)[0]
	for _, opts := range []squash.Options{
		{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: 0, To: 1}}, BaseLayers: 1},
		{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: 1, To: 5}}, BaseLayers: 1},
		{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: 1, To: 2}, {From: 2, To: 2}}, BaseLayers: 1},
		{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: 1, To: 2}}, Reorder: true, BaseLayers: 1},
		{Strip: []string{"["}, BaseLayers: 1},
	} {
		if _, err := squash.NewPlan(a, opts); !errors.Is(err, squash.ErrBadPlan) {
			t.Errorf("%+v: %v, want ErrBadPlan", opts, err)
		}
	}
	for _, s := range []string{"2..1", "x", "-1..2"} {
		if _, err := squash.ParseRange(s); !errors.Is(err, squash.ErrBadPlan) {
			t.Errorf("ParseRange(%q) = %v", s, err)
		}
	}
}

// TestKeptMetadata: config, history, annotations and media types survive.
func TestKeptMetadata(t *testing.T) {
	t.Parallel()
	ref := stack(t,
		fixtures.NewLayer().File("a", bytesOf("a", 100)),
		fixtures.NewLayer().File("b", bytesOf("b", 100)),
		fixtures.NewLayer().Whiteout("b"),
		fixtures.NewLayer().File("c", nil))
	r := fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout, Tags: []string{"fixed"}})
	res := r.outcome.Results[0]
	var cfg ocispec.Image
	if err := json.Unmarshal(res.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/bin/app"}) || cfg.Config.Labels["l"] != "v" {
		t.Errorf("runtime config changed: %+v", cfg.Config)
	}
	var nonEmpty int
	var last ocispec.History
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
			last = h
		}
	}
	if nonEmpty != 2 || len(cfg.History) != 6 || !strings.Contains(last.CreatedBy, "squashed layers 1,2,3") {
		t.Errorf("history: %+v", cfg.History)
	}
	if len(cfg.RootFS.DiffIDs) != 2 {
		t.Errorf("diff_ids: %v", cfg.RootFS.DiffIDs)
	}
	src, err := source.Open("oci:"+r.out+":fixed", source.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	if got := src.Images()[0].Annotations["org.example"]; got != "kept" {
		t.Errorf("manifest annotation lost: %v", src.Images()[0].Annotations)
	}
}

// TestStrip drops a directory from the final view; the proof accounts for
// exactly the stripped paths.
func TestStrip(t *testing.T) {
	t.Parallel()
	ref := stack(t,
		fixtures.NewLayer().Dir("var").Dir("var/cache").File("var/cache/base", bytesOf("c", 100)),
		fixtures.NewLayer().File("var/cache/apt", bytesOf("a", 1000)).File("app", []byte("a")),
		fixtures.NewLayer().File("keep", []byte("k")))
	r := fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1, Strip: []string{"var/cache"}}, squash.Target{Kind: squash.OutputLayout})
	if got := r.outcome.Results[0].Layers[1].Stripped; !slices.Equal(got, []string{"var/cache"}) {
		t.Errorf("stripped %v", got)
	}
	if names := layerEntries(t, r.out, 1); !has(names, "var/.wh.cache", "app", "keep") {
		t.Errorf("merged layer %v", names)
	}
}

// TestRecompress: gzip → zstd → gzip, every layer forced; diff_ids stay.
func TestRecompress(t *testing.T) {
	t.Parallel()
	ref := stack(t, fixtures.NewLayer().File("a", bytesOf("a", 1000)), fixtures.NewLayer().File("b", bytesOf("b", 1000)))
	in := analyzeAll(t, ref, "", 1)[0]
	z := fix(t, ref, squash.Options{Compression: squash.CompressionZstd, ForceCompression: true, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
	for i, l := range z.outcome.Results[0].Layers {
		if l.MediaType != types.OCILayerZStd || l.Kept || l.DiffID != in.Image.Layers[i].DiffID {
			t.Errorf("zstd layer %d: %+v", i, l)
		}
	}
	g := fix(t, z.out, squash.Options{Compression: squash.CompressionGzip, ForceCompression: true, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
	for i, l := range g.outcome.Results[0].Layers {
		if l.MediaType != types.OCILayer || l.DiffID != in.Image.Layers[i].DiffID {
			t.Errorf("gzip layer %d: %+v", i, l)
		}
	}
	// Without --force-compression, untouched layers keep their blobs.
	k := fix(t, z.out, squash.Options{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: 1, To: 1}}, Compression: squash.CompressionGzip, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
	if l := k.outcome.Results[0].Layers; !l[0].Kept || l[0].MediaType != types.OCILayerZStd || l[1].MediaType != types.OCILayer {
		t.Errorf("kept layers: %+v", l)
	}
}

func TestDockerFamily(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage()
	img.Family = fixtures.Docker
	img.Add(fixtures.NewLayer().File("a", []byte("a"))).Add(fixtures.NewLayer().File("b", bytesOf("b", 200))).Add(fixtures.NewLayer().Whiteout("b"))
	ref := filepath.Join(t.TempDir(), "src")
	if _, err := img.WriteOCILayout(ref); err != nil {
		t.Fatal(err)
	}
	r := fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout, KeepMediaTypes: true})
	res := r.outcome.Results[0]
	if res.ManifestType != types.DockerManifestSchema2 || res.Layers[1].MediaType != types.DockerLayer {
		t.Errorf("media types: %s %s", res.ManifestType, res.Layers[1].MediaType)
	}
	// By default a layout gets OCI media types, kept layers included.
	r = fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
	res = r.outcome.Results[0]
	if res.ManifestType != types.OCIManifestSchema1 || res.Layers[0].MediaType != types.OCILayer || res.Layers[1].MediaType != types.OCILayer {
		t.Errorf("media types: %s %s %s", res.ManifestType, res.Layers[0].MediaType, res.Layers[1].MediaType)
	}
	raw, err := os.ReadFile(filepath.Join(r.out, "blobs", "sha256", res.ManifestDigest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("docker")) {
		t.Errorf("Docker media types left in the manifest: %s", raw)
	}
	if _, err := tryFix(t, ref, "", squash.Options{Mode: squash.SquashAll, BaseLayers: 1, Compression: squash.CompressionZstd}, squash.Target{Kind: squash.OutputNone}); !errors.Is(err, squash.ErrBadPlan) {
		t.Errorf("zstd in a Docker image: %v", err)
	}
}

// TestDockerArchive writes a docker save tarball and reads it back with
// layerlint's reader and with ggcr's.
func TestDockerArchive(t *testing.T) {
	t.Parallel()
	ref := stack(t, fixtures.NewLayer().File("a", []byte("a")), fixtures.NewLayer().File("b", bytesOf("b", 300)), fixtures.NewLayer().Whiteout("b"))
	out := filepath.Join(t.TempDir(), "img.tar")
	fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputDockerArchive, Path: out, Tags: []string{"example.com/app:fixed"}})
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) != 2 {
		t.Fatalf("ggcr reads %d layers: %v", len(ls), err)
	}
	a := analyzeAll(t, "docker-archive:"+out+":example.com/app:fixed", "", 1)[0]
	if a.Report.Summary.WastedBytes != 0 {
		t.Errorf("wasted %d", a.Report.Summary.WastedBytes)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil || len(entries) != 1 {
		t.Errorf("staging left behind: %v", entries)
	}
}

// TestMultiPlatform fixes every platform of an index and keeps the
// index's annotations.
func TestMultiPlatform(t *testing.T) {
	t.Parallel()
	mk := func(arch string) *fixtures.Image {
		img := fixtures.NewImage()
		img.Platform.Architecture = arch
		return img.Add(fixtures.NewLayer().File("a", []byte(arch))).Add(fixtures.NewLayer().File("big", bytesOf(arch, 500))).Add(fixtures.NewLayer().Whiteout("big"))
	}
	ix := fixtures.NewIndex(mk("amd64"), mk("arm64"))
	ix.Annotations = map[string]string{"org.example.index": "kept"}
	ref := filepath.Join(t.TempDir(), "src")
	if _, err := ix.WriteOCILayout(ref); err != nil {
		t.Fatal(err)
	}
	opts := squash.Options{Mode: squash.SquashAuto, BaseLayers: 1}
	r, err := tryFix(t, ref, "all", opts, squash.Target{Kind: squash.OutputLayout})
	if err != nil {
		t.Fatal(err)
	}
	if !r.outcome.OK() || len(r.outcome.Checks) != 2 {
		t.Fatalf("checks: %+v", r.outcome.Checks)
	}
	out := analyzeAll(t, r.out, "all", 1)
	if len(out) != 2 || out[0].Image.Platform.Architecture != "amd64" || out[1].Image.Platform.Architecture != "arm64" {
		t.Fatalf("platforms: %d", len(out))
	}
	if out[0].Image.IndexAnnotations["org.example.index"] != "kept" {
		t.Errorf("index annotations: %v", out[0].Image.IndexAnnotations)
	}
	// In place, with one platform fixed, the other stays listed.
	r2, err := tryFix(t, ref, "linux/arm64", opts, squash.Target{Kind: squash.OutputInPlace, Path: ref})
	if err != nil || !r2.outcome.OK() {
		t.Fatalf("in place: %v %+v", err, r2)
	}
	raw, err := os.ReadFile(filepath.Join(ref, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil || len(idx.Manifests) != 2 || idx.Manifests[1].Annotations[ocispec.AnnotationRefName] != "latest-prefix" {
		t.Fatalf("index.json: %s", raw)
	}
	after := analyzeAll(t, "oci:"+ref+"@"+idx.Manifests[0].Digest.String(), "all", 1)
	if len(after) != 2 || after[0].Report.Summary.WastedBytes == 0 || after[1].Report.Summary.WastedBytes != 0 {
		t.Errorf("in place on one platform: %d images", len(after))
	}
}

func TestInPlace(t *testing.T) {
	t.Parallel()
	layers := func() []*fixtures.Layer {
		return []*fixtures.Layer{fixtures.NewLayer().File("a", []byte("a")), fixtures.NewLayer().File("b", bytesOf("b", 300)), fixtures.NewLayer().Whiteout("b")}
	}
	t.Run("keeps the old image as tag-prefix", func(t *testing.T) {
		ref := stack(t, layers()...)
		before := testsupport.ReadTree(t, ref)
		r := fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputInPlace, Path: ref})
		if !slices.Equal(r.outcome.Kept, []string{"v1-prefix"}) {
			t.Errorf("kept %v", r.outcome.Kept)
		}
		old := analyzeAll(t, "oci:"+ref+":v1-prefix", "", 1)[0]
		if old.Report.Summary.WastedBytes == 0 {
			t.Error("the old image is not the old one")
		}
		now := analyzeAll(t, "oci:"+ref+":v1", "", 1)[0]
		if now.Report.Summary.WastedBytes != 0 || len(now.Image.Layers) != 2 {
			t.Error("v1 is not the fixed image")
		}
		after := testsupport.ReadTree(t, ref)
		for name, b := range before {
			if name != "index.json" && !bytes.Equal(after[name], b) {
				t.Errorf("%s changed", name)
			}
		}
		for name := range after {
			if strings.Contains(name, ".layerlint") || strings.HasSuffix(name, ".tmp") {
				t.Errorf("left behind %s", name)
			}
		}
	})
	t.Run("gc", func(t *testing.T) {
		ref := stack(t, layers()...)
		fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputInPlace, Path: ref, GC: true})
		blobs, err := os.ReadDir(filepath.Join(ref, "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		if len(blobs) != 4 { // manifest, config, two layers
			t.Errorf("%d blobs after gc", len(blobs))
		}
	})
	t.Run("failed proof leaves the source untouched", func(t *testing.T) {
		// Asking for no waste without squashing cannot pass.
		ref := stack(t, layers()...)
		before := testsupport.ReadTree(t, ref)
		in := analyzeAll(t, ref, "", 1)
		p, err := squash.NewPlan(in[0], squash.Options{BaseLayers: 1, Compression: squash.CompressionZstd, ForceCompression: true})
		if err != nil {
			t.Fatal(err)
		}
		o, err := squash.Fix(t.Context(), []squash.Image{{Analysis: in[0], Plan: p}}, squash.Options{Compression: squash.CompressionZstd, ForceCompression: true}, squash.Target{Kind: squash.OutputInPlace, Path: ref}, &squash.VerifyOptions{RequireNoWaste: true, ModTime: true})
		if err != nil || o.OK() {
			t.Fatalf("want a failed check: %v", err)
		}
		if d := testsupport.TreeDiff(before, testsupport.ReadTree(t, ref)); len(d) > 0 {
			t.Errorf("the layout changed: %v", d)
		}
	})
}

// TestDeterministic: same input and flags, byte-identical output.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, c := range []squash.Compression{squash.CompressionGzip, squash.CompressionZstd} {
		ref := stack(t,
			fixtures.NewLayer().File("a", bytesOf("abc", 50000)),
			fixtures.NewLayer().File("b", bytesOf("b", 300)).Hardlink("b2", "b").Symlink("s", "a"),
			fixtures.NewLayer().Whiteout("b").File("c", bytesOf("xyz", 90000), fixtures.Xattr("user.a", "1"), fixtures.Xattr("user.b", "2")))
		opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 1, Compression: c, ForceCompression: true}
		a := fix(t, ref, opts, squash.Target{Kind: squash.OutputLayout})
		b := fix(t, ref, opts, squash.Target{Kind: squash.OutputLayout})
		if d := testsupport.TreeDiff(testsupport.ReadTree(t, a.out), testsupport.ReadTree(t, b.out)); len(d) > 0 {
			t.Errorf("%s: two runs differ: %v", c, d)
		}
	}
}
