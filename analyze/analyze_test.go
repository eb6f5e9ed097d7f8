package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/overlay"
)

var goldens = testsupport.NewGoldenFiles()

// TestUpdateIsOff fails while -update is given.
func TestUpdateIsOff(t *testing.T) { goldens.UpdateIsOff(t) }

func openOne(t *testing.T, ref string, opts source.Options) *source.Image {
	t.Helper()
	src, err := source.Open(ref, opts)
	if err != nil {
		t.Fatalf("opening %s: %v", ref, err)
	}
	t.Cleanup(func() { _ = src.Close() })
	imgs := src.Images()
	if len(imgs) != 1 {
		t.Fatalf("%s: %d images, want 1", ref, len(imgs))
	}
	return imgs[0]
}

func analyzeRef(t *testing.T, ref string, opts analyze.Options) *analyze.Analysis {
	t.Helper()
	a := imagetest.AnalyzeWith(t, ref, opts)
	a.Report.Image.Reference = filepath.Base(ref)
	return a
}

// sampleLayout writes the repository's sample image to a temp layout.
func sampleLayout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := fixtures.Sample().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sharedDiveData returns a file of the shared dive-data folder beside the
// repository, or skips the test (fails it in CI) when it is not there.
func sharedDiveData(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

// TestSampleFigures pins every figure of the sample image, worked out by
// hand from fixtures.Sample's layers.
func TestSampleFigures(t *testing.T) {
	t.Parallel()
	a := analyzeRef(t, sampleLayout(t), analyze.Options{})
	r := a.Report
	type layerFig struct {
		content, wasted, hidden int64
		added, modified, del    int
		createdBy               string
	}
	want := []layerFig{
		// os-release 41 + app.conf 26 + secret.tmp 18 + tool 1200 + apt
		// Packages 900 + cache.db 300 + old.json 14 + main.o 400 +
		// notes.txt 14. Wasted later: app.conf 26, secret.tmp 18, tool
		// 1200 (chmod copy), tmp/build 414, app/data 314.
		{content: 2913, wasted: 1972, added: 24, createdBy: "ADD rootfs.tar /"},
		// app.conf 26 + tool-copy 1200 + InRelease 400 + app.log 56; hides
		// app.conf 26, secret.tmp 18 and tmp/build's 414.
		{content: 1682, hidden: 458, added: 3, modified: 5, del: 4, createdBy: "RUN apt-get update && apt-get install -y tool && rm /etc/secret.tmp && rm -r /tmp/build"},
		{content: 1200, hidden: 1200, modified: 2, createdBy: "RUN chmod 0700 /usr/bin/tool"},
		{content: 14, hidden: 314, added: 1, modified: 1, del: 2, createdBy: "COPY data/ /app/data/"},
	}
	if len(r.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(r.Layers), len(want))
	}
	for i, w := range want {
		l := r.Layers[i]
		got := layerFig{l.ContentBytes, l.WastedBytes, l.HiddenBytes, l.Added, l.Modified, l.Deleted, l.CreatedBy}
		if got != w {
			t.Errorf("layer %d: %+v, want %+v", i, got, w)
		}
		if l.Compression != "gzip" || !l.Analyzed || l.CompressedSize <= 0 || l.TarSize <= l.ContentBytes {
			t.Errorf("layer %d: compression %q analyzed %v sizes %d/%d", i, l.Compression, l.Analyzed, l.CompressedSize, l.TarSize)
		}
	}
	s := r.Summary
	if s.ContentBytes != 5809 || s.WastedBytes != 1972 || s.MergedBytes != 5809-1972 {
		t.Errorf("content %d wasted %d merged %d", s.ContentBytes, s.WastedBytes, s.MergedBytes)
	}
	wantCause := analyze.CauseBytes{Overwritten: 1226, Deleted: 432, Opaque: 314}
	if s.WastedByCause != wantCause {
		t.Errorf("by cause %+v, want %+v", s.WastedByCause, wantCause)
	}
	if s.MetadataOnlyBytes != 1200 {
		t.Errorf("metadata-only %d, want 1200", s.MetadataOnlyBytes)
	}
	if r.Image.Base.Layers != 1 || r.Image.Base.Source != "default" || r.Image.Base.Name != "docker.io/library/debian:bookworm-slim" {
		t.Errorf("base %+v", r.Image.Base)
	}
	if s.UserContentBytes != 2896 || s.UserWastedBytes != 1972 {
		t.Errorf("user content %d user wasted %d", s.UserContentBytes, s.UserWastedBytes)
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ref  func(t *testing.T) string
	}{
		{"sample", sampleLayout},
		{"dive-test", func(t *testing.T) string { return sharedDiveData(t, "test-docker-image.tar") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Keeping the changesets or not changes nothing in the report.
			for _, drop := range []bool{false, true} {
				a := analyzeRef(t, tt.ref(t), analyze.Options{DropChangesets: drop})
				a.Report.Image.Reference = tt.name
				var text, js bytes.Buffer
				if err := analyze.WriteText(&text, a.Report, analyze.TextOptions{Top: 10}); err != nil {
					t.Fatal(err)
				}
				if err := analyze.WriteJSON(&js, a.Report); err != nil {
					t.Fatal(err)
				}
				goldens.Check(t, tt.name+".txt", text.Bytes())
				goldens.Check(t, tt.name+".json", js.Bytes())
				validateSchema(t, js.Bytes())
				for i, cs := range a.Changesets {
					if (cs == nil) != drop {
						t.Errorf("DropChangesets %v: layer %d has changeset %v", drop, i, cs != nil)
					}
				}
			}
		})
	}
}

func validateSchema(t *testing.T, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("../docs/schema/report.schema.json")
	if err != nil {
		t.Fatalf("compiling schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("report does not match docs/schema/report.schema.json: %v", err)
	}
}

// TestDiveTestImage checks the acceptance numbers on dive's own
// test image: layerlint's wasted bytes and dive's three metrics exactly.
func TestDiveTestImage(t *testing.T) {
	t.Parallel()
	a := analyzeRef(t, sharedDiveData(t, "test-docker-image.tar"), analyze.Options{})
	r := a.Report
	if r.Summary.WastedBytes != 32025 {
		t.Errorf("wasted %d, want 32025", r.Summary.WastedBytes)
	}
	if r.Summary.MergedEntries != 423 || r.Summary.MergedBytes != 1188573 {
		t.Errorf("merged %d entries %d bytes, want 423 and 1188573", r.Summary.MergedEntries, r.Summary.MergedBytes)
	}
	d := r.Dive
	if d.Efficiency == nil || *d.Efficiency != 0.9844212134184309 {
		t.Errorf("dive efficiency %v", d.Efficiency)
	}
	if d.WastedBytes != 32025 {
		t.Errorf("dive wasted %d", d.WastedBytes)
	}
	if d.UserWastedPercent == nil || *d.UserWastedPercent != 0.4834911001404049 {
		t.Errorf("dive userWastedPercent %v", d.UserWastedPercent)
	}
	if d.SizeBytes != 1220598 || d.UserSizeBytes != 66237 {
		t.Errorf("dive sizes %d %d", d.SizeBytes, d.UserSizeBytes)
	}
	for _, name := range []string{"test-oci-gzip-image.tar", "test-oci-zstd-image.tar"} {
		a := analyzeRef(t, sharedDiveData(t, name), analyze.Options{})
		d := a.Report.Dive
		if d.Efficiency == nil || *d.Efficiency != 1 || d.WastedBytes != 0 || d.UserWastedPercent != nil {
			t.Errorf("%s: dive %+v", name, d)
		}
	}
}

// TestImageForms analyzes one image written in every form layerlint opens
// and requires the same merged view and waste from each.
func TestImageForms(t *testing.T) {
	t.Parallel()
	build := func(c fixtures.Compression) *fixtures.Image {
		sample := fixtures.Sample()
		img := fixtures.NewImage()
		for i := range sample.Layers() {
			l, err := sample.Layer(i)
			if err != nil {
				t.Fatal(err)
			}
			img.Add(l, fixtures.Compressed(c))
		}
		return img
	}
	dir := t.TempDir()
	refs := map[string]string{}
	write := func(name string, f func(p string) error) {
		p := filepath.Join(dir, name)
		if err := f(p); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
		refs[name] = p
	}
	for _, c := range []fixtures.Compression{fixtures.Gzip, fixtures.Zstd, fixtures.None, fixtures.Estargz} {
		write("oci-"+c.String(), func(p string) error { _, err := build(c).WriteOCILayout(p); return err })
	}
	write("oci-archive", func(p string) error { return fixtures.Sample().WriteOCIArchive(p) })
	write("docker-classic", func(p string) error {
		return fixtures.Sample().WriteDockerArchive(p, fixtures.DockerClassic, "sample:latest")
	})
	write("docker-oci", func(p string) error {
		return fixtures.Sample().WriteDockerArchive(p, fixtures.DockerOCI, "sample:latest")
	})
	write("index", func(p string) error {
		arm := fixtures.Sample()
		arm.Platform.Architecture = "arm64"
		_, err := fixtures.NewIndex(fixtures.Sample(), arm).WriteOCILayout(p)
		return err
	})
	ref := analyzeRef(t, refs["oci-gzip"], analyze.Options{})
	for name, p := range refs {
		t.Run(name, func(t *testing.T) {
			img := openOne(t, p, source.Options{Verify: true, Platform: "linux/amd64"})
			a, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			got := a.Model.Files()
			var toc int64
			if name == "oci-estargz" {
				// Every estargz layer ends with its table of contents as
				// the tar entry stargz.index.json, which a runtime that
				// extracts the layer as plain tar.gz puts in the rootfs:
				// it shows in the view, and each layer's copy hides the
				// one below.
				f, ok := a.Model.Lookup("stargz.index.json")
				if !ok {
					t.Fatal("estargz layers without stargz.index.json")
				}
				got = slices.DeleteFunc(got, func(f overlay.File) bool { return f.Path == "stargz.index.json" })
				toc = a.Report.Summary.ContentBytes - ref.Report.Summary.ContentBytes - f.Size
			}
			if d := overlay.Compare(ref.Model.Files(), got, overlay.CompareOptions{Xattrs: true, LinkGroups: true}); len(d) > 0 {
				t.Errorf("merged view differs from the gzip layout: %v", d)
			}
			if got, want := a.Report.Summary.WastedBytes, ref.Report.Summary.WastedBytes+toc; got != want {
				t.Errorf("wasted %d, want %d", got, want)
			}
		})
	}
}

func TestPlatformAll(t *testing.T) {
	t.Parallel()
	dir := imagetest.SampleIndex(t)
	src, err := source.Open(dir, source.Options{Platform: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // test
	if n := len(src.Images()); n != 2 {
		t.Fatalf("%d images, want 2", n)
	}
	_, err = source.Open(dir, source.Options{Platform: "linux/s390x"})
	if !errors.Is(err, source.ErrNoMatchingPlatform) || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("missing platform: %v (want ErrNoMatchingPlatform listing linux/arm64)", err)
	}
}

func TestDigestMismatch(t *testing.T) {
	t.Parallel()
	img := openOne(t, imagetest.CorruptSample(t, 2), source.Options{Verify: true})
	_, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true})
	if !errors.Is(err, source.ErrDigestMismatch) || !strings.Contains(err.Error(), "layer 2") {
		t.Fatalf("got %v, want a digest mismatch naming layer 2", err)
	}
	if _, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: false}); err == nil {
		t.Log("corrupted blob still parses without verification")
	}
}

func TestCaps(t *testing.T) {
	t.Parallel()
	img := openOne(t, sampleLayout(t), source.Options{})
	_, err := analyze.Analyze(context.Background(), img, analyze.Options{MaxLayerEntries: 3})
	if !errors.Is(err, analyze.ErrCapExceeded) || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("entries cap: %v", err)
	}
	_, err = analyze.Analyze(context.Background(), img, analyze.Options{MaxImageBytes: 5000})
	if !errors.Is(err, analyze.ErrCapExceeded) {
		t.Errorf("image cap: %v", err)
	}
}

func TestLayersAsOf(t *testing.T) {
	t.Parallel()
	img := openOne(t, sampleLayout(t), source.Options{})
	a, err := analyze.Analyze(context.Background(), img, analyze.Options{Layers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Model.Lookup("tmp/build/main.o"); !ok {
		t.Error("tmp/build/main.o should be in the view as of layer 0")
	}
	if len(a.Report.Layers) != 1 {
		t.Errorf("%d layers reported", len(a.Report.Layers))
	}
}

func TestExactWire(t *testing.T) {
	t.Parallel()
	a := analyzeRef(t, sampleLayout(t), analyze.Options{ExactWire: true})
	s := a.Report.Summary
	if s.WastedWireBytesExact == nil || *s.WastedWireBytesExact <= 0 || *s.WastedWireBytesExact >= s.WastedBytes {
		t.Errorf("exact wire %v for %d wasted bytes", s.WastedWireBytesExact, s.WastedBytes)
	}
	var js bytes.Buffer
	if err := analyze.WriteJSON(&js, a.Report); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	validateSchema(t, js.Bytes())
}

// TestNonDistributableLayerAbsent: a foreign layer whose blob is not in the
// layout is reported as not analyzed, and the rest of the image still is.
func TestNonDistributableLayerAbsent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := fixtures.Sample().WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(testsupport.BlobPath(dir, w.Manifest.Digest))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	l0 := m["layers"].([]any)[0].(map[string]any)
	l0["mediaType"] = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	l0["urls"] = []string{"https://example.invalid/base.tar.gz"}
	raw, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := testsupport.PutBlob(dir, raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := testsupport.RemoveBlob(dir, w.Layers[0].Digest); err != nil {
		t.Fatal(err)
	}
	if err := testsupport.EditIndexJSON(dir, func(ix *ocispec.Index) {
		ix.Manifests[0].Digest, ix.Manifests[0].Size = d, int64(len(raw))
	}); err != nil {
		t.Fatal(err)
	}
	a := analyzeRef(t, dir, analyze.Options{})
	r := a.Report
	if r.Layers[0].Analyzed || !strings.Contains(r.Layers[0].NotAnalyzed, "example.invalid") || r.Summary.NotAnalyzed != 1 {
		t.Errorf("layer 0: analyzed %v, reason %q, summary %d", r.Layers[0].Analyzed, r.Layers[0].NotAnalyzed, r.Summary.NotAnalyzed)
	}
	if !r.Layers[1].Analyzed || r.Layers[1].ContentBytes != 1682 {
		t.Errorf("layer 1: %+v", r.Layers[1])
	}
	var text bytes.Buffer
	if err := analyze.WriteText(&text, r, analyze.TextOptions{}); err != nil || !strings.Contains(text.String(), "not analyzed") {
		t.Errorf("text report lacks the not-analyzed layer: %v\n%s", err, text.String())
	}
}

// TestBaseFromAnnotations: when the base image named by the manifest's
// org.opencontainers.image.base.digest annotation is in the same layout and
// its layers match, the base/user split comes from it.
func TestBaseFromAnnotations(t *testing.T) {
	t.Parallel()
	l0 := fixtures.NewLayer().File("etc/os-release", []byte("ID=base\n"))
	l1 := fixtures.NewLayer().File("usr/lib/libbase.so", bytes.Repeat([]byte("b"), 300))
	app := fixtures.NewLayer().File("app/main", []byte("main")).Whiteout("usr/lib/libbase.so")
	base := fixtures.NewImage().Add(l0).Add(l1)
	w, err := base.WriteOCILayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	derived := fixtures.NewImage().Add(l0).Add(l1).Add(app).SetBase("example.test/base:1", w.Manifest.Digest)
	dir := t.TempDir()
	if _, err := fixtures.NewIndex(base, derived).WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	// The layout lists the two images through a nested index: list them in
	// index.json itself, tagged, as a build tool that keeps its base does.
	if err := testsupport.EditIndexJSON(dir, func(ix *ocispec.Index) {
		raw, err := os.ReadFile(testsupport.BlobPath(dir, ix.Manifests[0].Digest))
		if err != nil {
			t.Fatal(err)
		}
		var inner ocispec.Index
		if err := json.Unmarshal(raw, &inner); err != nil {
			t.Fatal(err)
		}
		ix.Manifests = inner.Manifests
		for i, tag := range []string{"base", "app"} {
			if ix.Manifests[i].Annotations == nil {
				ix.Manifests[i].Annotations = map[string]string{}
			}
			ix.Manifests[i].Annotations[ocispec.AnnotationRefName] = tag
			ix.Manifests[i].Platform = nil
		}
	}); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open("oci:"+dir+":app", source.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // test
	img := src.Images()[0]
	lookup := func(d string) (*source.Image, error) {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, err
		}
		ref := src.Reference()
		ref.Tag, ref.Digest = "", h
		bs, err := source.OpenReference(ref, source.Options{})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = bs.Close() })
		return bs.Images()[0], nil
	}
	n, ok := analyze.BaseLayersFromAnnotations(img, lookup)
	if !ok || n != 2 {
		t.Fatalf("base layers %d, %v; want 2 from the annotation", n, ok)
	}
	a, err := analyze.Analyze(context.Background(), img, analyze.Options{BaseLayers: n, BaseFrom: analyze.BaseAnnotation})
	if err != nil {
		t.Fatal(err)
	}
	b := a.Report.Image.Base
	if b.Layers != 2 || b.Source != "annotation" || b.Name != "example.test/base:1" || b.Digest != w.Manifest.Digest.String() {
		t.Errorf("base %+v", b)
	}
	// The app layer deletes 300 bytes that the base shipped: waste caused
	// above the base, over the 4 bytes it adds.
	if s := a.Report.Summary; s.UserWastedBytes != 300 || s.UserContentBytes != 4 {
		t.Errorf("user wasted %d of %d", s.UserWastedBytes, s.UserContentBytes)
	}
	// A base whose layers differ does not count.
	other := func(string) (*source.Image, error) {
		o := *img
		o.Layers = []*source.Layer{img.Layers[1], img.Layers[0]}
		return &o, nil
	}
	if _, ok := analyze.BaseLayersFromAnnotations(img, other); ok {
		t.Error("a base with other layers was accepted")
	}
}
