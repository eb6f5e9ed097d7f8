package rules_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
)

// text returns n bytes of log-like text, which compresses well.
func text(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2024-05-%02d 12:%02d:%02d INFO worker=%d request id=%08x status=%d path=/api/v1/items/%d\n",
			i%28+1, i%60, (i*7)%60, i%13, i*2654435761, 200+i%5, i%997)
	}
	return b.Bytes()[:n]
}

func compressionImage() *fixtures.Image {
	return fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/os-release", []byte("ID=x\n"))).
		Add(fixtures.NewLayer().File("app/a", content(3000, 1)), fixtures.Compressed(fixtures.None), fixtures.CreatedBy("COPY a /app/")).
		Add(fixtures.NewLayer().File("app/b", content(2000, 2)), fixtures.Compressed(fixtures.None), fixtures.LayerFamily(fixtures.Docker)).
		Add(fixtures.NewLayer().File("app/c", content(1000, 3)), fixtures.Compressed(fixtures.Zstd))
}

func TestUncompressedLayers(t *testing.T) {
	t.Parallel()
	r := ruleByID(t, "LL013")
	f := facts(t, compressionImage(), rules.Options{})
	got := r.Check(f)
	var gotW []want
	for _, g := range got {
		gotW = append(gotW, want{g.Layer, g.Path, g.Bytes})
		checkFinding(t, r, g)
	}
	w := []want{{1, "", f.Report.Layers[1].TarSize}, {2, "", f.Report.Layers[2].TarSize}}
	if !slices.Equal(gotW, w) || w[0].Bytes < 3000 {
		t.Errorf("got %v, want %v", gotW, w)
	}
	if got[0].CreatedBy != "COPY a /app/" {
		t.Errorf("createdBy %q", got[0].CreatedBy)
	}

	// A docker save archive holds uncompressed layers by design.
	for _, form := range []fixtures.DockerForm{fixtures.DockerClassic, fixtures.DockerOCI} {
		p := filepath.Join(t.TempDir(), "image.tar")
		if err := compressionImage().WriteDockerArchive(p, form, "x:1"); err != nil {
			t.Fatal(err)
		}
		f := rules.NewFacts(imagetest.AnalyzeWith(t, "docker-archive:"+p, analyze.Options{}), rules.Options{})
		if got := r.Check(f); len(got) != 0 {
			t.Errorf("%s: got %+v, want nothing for a docker archive", form, got)
		}
	}
}

func TestZstdEstimate(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().File("var/log/app.log", text(400_000))).
		Add(fixtures.NewLayer().File("app/c", content(1000, 3)), fixtures.Compressed(fixtures.Zstd)).
		Add(fixtures.NewLayer().File("app/d", content(1000, 4)), fixtures.Compressed(fixtures.None))
	dir := t.TempDir()
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	a := imagetest.AnalyzeWith(t, dir, analyze.Options{})
	ctx := context.Background()

	g, z, err := rules.EstimateZstd(ctx, a.Image, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g != a.Report.Layers[0].CompressedSize || z <= 0 || z >= a.Report.Layers[0].TarSize {
		t.Errorf("EstimateZstd = %d, %d; layer is %d bytes compressed, %d as tar", g, z, a.Report.Layers[0].CompressedSize, a.Report.Layers[0].TarSize)
	}

	// Gather estimates the gzip layers only, and only when asked.
	f, err := rules.Gather(ctx, a, rules.Options{}, nil)
	if err != nil || f.Zstd != nil {
		t.Fatalf("Gather without EstimateCompression: %v, %v", f.Zstd, err)
	}
	f, err = rules.Gather(ctx, a, rules.Options{EstimateCompression: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []rules.ZstdEstimate{{Layer: 0, GzipBytes: g, ZstdBytes: z}}; !slices.Equal(f.Zstd, want) {
		t.Errorf("Zstd = %+v, want %+v", f.Zstd, want)
	}
	t.Logf("gzip %d bytes, zstd %d bytes", g, z)

	// Content that repeats beyond gzip's 32 KiB window: zstd sees the
	// repeats, gzip does not.
	img = fixtures.NewImage().
		Add(fixtures.NewLayer().File("var/log/app.log", text(100_000))).
		Add(fixtures.NewLayer().File("srv/blob", bytes.Repeat(noise(100_000), 10)))
	dir = t.TempDir()
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	f, err = rules.Gather(ctx, imagetest.AnalyzeWith(t, dir, analyze.Options{}), rules.Options{EstimateCompression: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := ruleByID(t, "LL013")
	got := r.Check(f)
	if len(got) != 1 || got[0].Layer != 1 || got[0].Bytes != f.Zstd[1].GzipBytes-f.Zstd[1].ZstdBytes {
		t.Errorf("got %+v for estimates %+v, want layer 1 only", got, f.Zstd)
	}
	for _, g := range got {
		checkFinding(t, r, g)
	}

	if _, _, err := rules.EstimateZstd(ctx, a.Image, 3); !errors.Is(err, analyze.ErrLayerRange) {
		t.Errorf("layer 3: %v, want ErrLayerRange", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := rules.EstimateZstd(cancelled, a.Image, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestZstdThreshold pins the threshold on estimates set by hand: the rule
// is a pure function of the facts.
func TestZstdThreshold(t *testing.T) {
	t.Parallel()
	r := ruleByID(t, "LL013")
	f := facts(t, fixtures.NewImage().Add(fixtures.NewLayer().File("a", content(10, 1))), rules.Options{})
	f.Zstd = []rules.ZstdEstimate{
		{Layer: 0, GzipBytes: 1_000_000, ZstdBytes: 900_000},  // 10%: reported
		{Layer: 1, GzipBytes: 1_000_000, ZstdBytes: 900_001},  // 9.9999%: not
		{Layer: 2, GzipBytes: 1_000_000, ZstdBytes: 1100_000}, // zstd larger
		{Layer: 3, GzipBytes: 0, ZstdBytes: 0},
		{Layer: 4, GzipBytes: 100_000, ZstdBytes: 40_000},  // 60%, but under 64 KiB
		{Layer: 5, GzipBytes: 200_000, ZstdBytes: 134_464}, // 65536 bytes: reported
	}
	got := r.Check(f)
	var gotW []want
	for _, g := range got {
		gotW = append(gotW, want{g.Layer, g.Path, g.Bytes})
		checkFinding(t, r, g)
	}
	if w := []want{{0, "", 100_000}, {5, "", 65536}}; !slices.Equal(gotW, w) {
		t.Errorf("got %v, want %v", gotW, w)
	}
	f.Options.ZstdMinSaving = 0.5
	if got := r.Check(f); len(got) != 0 {
		t.Errorf("threshold 50%%: got %+v", got)
	}
}

// noise returns n incompressible bytes, the same on every call.
func noise(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
