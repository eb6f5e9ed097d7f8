package squash_test

import (
	"archive/tar"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// stack builds an image of the layers, in a fresh layout.
func stack(t *testing.T, layers ...*fixtures.Layer) string {
	t.Helper()
	img := fixtures.NewImage()
	img.Config.Entrypoint = []string{"/bin/app"}
	img.Config.Env = []string{"A=1"}
	img.Config.Labels = map[string]string{"l": "v"}
	for i, l := range layers {
		img.Add(l, fixtures.CreatedBy("RUN step "+string(rune('a'+i))))
		if i == 1 {
			img.EmptyLayer("ENV A=1")
		}
	}
	img.Annotations = map[string]string{"org.example": "kept"}
	dir := filepath.Join(t.TempDir(), "src")
	if _, err := img.WriteOCILayout(dir, fixtures.Tag("v1")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// analyzeAll opens ref and analyzes each image.
func analyzeAll(t *testing.T, ref, platform string, base int) []*analyze.Analysis {
	t.Helper()
	src, err := source.Open(ref, source.Options{Verify: true, Platform: platform})
	if err != nil {
		t.Fatalf("opening %s: %v", ref, err)
	}
	t.Cleanup(func() { _ = src.Close() })
	var out []*analyze.Analysis
	for _, img := range src.Images() {
		a, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, BaseLayers: base, BaseFrom: analyze.BaseOption})
		if err != nil {
			t.Fatalf("analyzing %s: %v", ref, err)
		}
		out = append(out, a)
	}
	return out
}

type run struct {
	in      []*analyze.Analysis
	outcome *squash.Outcome
	out     string
}

// fix plans and writes ref with opts to a new layout and requires the
// proof to pass.
func fix(t *testing.T, ref string, opts squash.Options, target squash.Target) *run {
	t.Helper()
	r, err := tryFix(t, ref, "", opts, target)
	if err != nil {
		t.Fatalf("fix: %v", err)
	}
	for i, c := range r.outcome.Checks {
		if !c.OK() {
			t.Fatalf("image %d: verification failed:\n%v\n%v\nplan %s", i, c.Differences, c.Problems, r.outcome.Results[i].Plan)
		}
	}
	return r
}

func tryFix(t *testing.T, ref, platform string, opts squash.Options, target squash.Target) (*run, error) {
	t.Helper()
	in := analyzeAll(t, ref, platform, opts.BaseLayers)
	var imgs []squash.Image
	for _, a := range in {
		p, err := squash.NewPlan(a, opts)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, squash.Image{Analysis: a, Plan: p})
	}
	if target.Kind == squash.OutputLayout && target.Path == "" {
		target.Path = filepath.Join(t.TempDir(), "out")
	}
	if target.Source.Path == "" {
		if sr, err := source.ParseReference(ref); err == nil {
			target.Source = sr
		}
	}
	vo := &squash.VerifyOptions{ModTime: opts.RewriteTimestamp == nil, RequireNoWaste: opts.Mode == squash.SquashAll || opts.Mode == squash.SquashAuto}
	o, err := squash.Fix(context.Background(), imgs, opts, target, vo)
	if err != nil {
		return nil, err
	}
	return &run{in: in, outcome: o, out: target.Path}, nil
}

// layerEntries lists the tar names of layer i of the first image of ref.
func layerEntries(t *testing.T, ref string, i int) []string {
	t.Helper()
	src, err := source.Open(ref, source.Options{Verify: true, Platform: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	s, err := src.Images()[0].Layers[i].Open(true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() //nolint:errcheck // read-only
	var names []string
	for h := range testsupport.TarEntries(t, s) {
		n := strings.TrimSuffix(h.Name, "/")
		if h.Typeflag == tar.TypeLink {
			n += " -> " + h.Linkname
		}
		names = append(names, n)
	}
	return names
}

func has(names []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(names, w) {
			return false
		}
	}
	return true
}

// wasteful is three layers, the last hiding most of the second: a squash
// removes waste.
func wasteful() []*fixtures.Layer {
	return []*fixtures.Layer{fixtures.NewLayer().File("a", []byte("a")), fixtures.NewLayer().File("b", bytesOf("b", 300)), fixtures.NewLayer().Whiteout("b")}
}
