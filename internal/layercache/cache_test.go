package layercache

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

func openImage(t *testing.T, dir string) *source.Image {
	t.Helper()
	src, err := source.Open(dir, source.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src.Images()[0]
}

func newDirCache(t *testing.T) *Cache {
	t.Helper()
	d, err := OpenDir(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return New(d, func(err error) { t.Errorf("cache warning: %v", err) })
}

func reportJSON(t *testing.T, a *analyze.Analysis) string {
	t.Helper()
	b, err := json.Marshal(a.Report)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAllCachedDecodesNothing: the second analysis of an image decodes no
// layer and reports exactly what the first did, with and without
// verification.
func TestAllCachedDecodesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := fixtures.Sample().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	img := openImage(t, dir)
	c := newDirCache(t)
	ctx := context.Background()
	first, err := analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Decoded) != len(img.Layers) {
		t.Fatalf("first run decoded %v, want all %d layers", first.Decoded, len(img.Layers))
	}
	for _, verify := range []bool{true, false} {
		again, err := analyze.Analyze(ctx, img, analyze.Options{Verify: verify, Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Decoded) != 0 {
			t.Errorf("verify=%v: cached run decoded layers %v", verify, again.Decoded)
		}
		if got, want := reportJSON(t, again), reportJSON(t, first); got != want {
			t.Errorf("verify=%v: cached report differs:\n got %s\nwant %s", verify, got, want)
		}
	}
	// A hook that needs the bytes (content scanning) reads the blobs.
	hooked, err := analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c, Inspect: func(int) func(string, *tar.Header) io.Writer {
		return func(string, *tar.Header) io.Writer { return nil }
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hooked.Decoded) != len(img.Layers) {
		t.Errorf("with an Inspect hook, decoded %v, want every layer", hooked.Decoded)
	}
}

// TestTenImagesOneBase: ten images that share a two-layer base decode the
// base once between them.
func TestTenImagesOneBase(t *testing.T) {
	base := []*fixtures.Layer{
		fixtures.NewLayer().Dir("etc").File("etc/os-release", []byte("ID=base\n")).Dir("usr").File("usr/lib.so", make([]byte, 3000)),
		fixtures.NewLayer().Dir("var").File("var/cache.db", []byte("cache")),
	}
	c := newDirCache(t)
	ctx := context.Background()
	decodes := map[int]int{} // layer index -> decodes
	for i := range 10 {
		img := fixtures.NewImage()
		for _, l := range base {
			img.Add(l)
		}
		img.Add(fixtures.NewLayer().Dir("app").File("app/main", fmt.Appendf(nil, "app %d", i)))
		dir := t.TempDir()
		if _, err := img.WriteOCILayout(dir); err != nil {
			t.Fatal(err)
		}
		a, err := analyze.Analyze(ctx, openImage(t, dir), analyze.Options{Verify: true, Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range a.Decoded {
			decodes[l]++
		}
	}
	if decodes[0] != 1 || decodes[1] != 1 || decodes[2] != 10 {
		t.Errorf("decodes per layer index %v; want base layers 0 and 1 once, the app layer 10 times", decodes)
	}
}

// TestCorruptBlobBehindCachedEntry: a cached entry does not hide a blob
// that was damaged since: with verification the blob is still hashed.
func TestCorruptBlobBehindCachedEntry(t *testing.T) {
	dir := t.TempDir()
	w, err := fixtures.Sample().WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newDirCache(t)
	ctx := context.Background()
	if _, err := analyze.Analyze(ctx, openImage(t, dir), analyze.Options{Verify: true, Cache: c}); err != nil {
		t.Fatal(err)
	}
	if err := testsupport.CorruptBlob(dir, w.Layers[1].Digest); err != nil {
		t.Fatal(err)
	}
	_, err = analyze.Analyze(ctx, openImage(t, dir), analyze.Options{Verify: true, Cache: c})
	if !errors.Is(err, source.ErrDigestMismatch) {
		t.Fatalf("analyzing a corrupted blob with its layer cached: %v, want a digest mismatch", err)
	}
}

// TestCorruptEntryRewritten: a damaged entry is a miss; the layer is
// decoded and the entry written again.
func TestCorruptEntryRewritten(t *testing.T) {
	dir := t.TempDir()
	if _, err := fixtures.Sample().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	cdir := t.TempDir()
	d, err := OpenDir(cdir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	c := New(d, nil)
	img := openImage(t, dir)
	ctx := context.Background()
	if _, err := analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c}); err != nil {
		t.Fatal(err)
	}
	name := KeyOf(img.Layers[2]).Name()
	p := filepath.Join(cdir, name[:2], name)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Decoded) != 1 || a.Decoded[0] != 2 || c.Corrupt() == 0 {
		t.Errorf("decoded %v with %d corrupt entries; want layer 2 alone, found corrupt", a.Decoded, c.Corrupt())
	}
	a, err = analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Decoded) != 0 {
		t.Errorf("after the rewrite, decoded %v", a.Decoded)
	}
}

// TestUnverifiedEntryNotTrusted: an entry written without verification
// does not serve a verifying run.
func TestUnverifiedEntryNotTrusted(t *testing.T) {
	dir := t.TempDir()
	if _, err := fixtures.Sample().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	img := openImage(t, dir)
	c := newDirCache(t)
	ctx := context.Background()
	if _, err := analyze.Analyze(ctx, img, analyze.Options{Cache: c}); err != nil {
		t.Fatal(err)
	}
	a, err := analyze.Analyze(ctx, img, analyze.Options{Verify: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Decoded) != len(img.Layers) {
		t.Errorf("verifying run decoded %v over unverified entries, want every layer", a.Decoded)
	}
}

// testLayer returns a layer of the sample image.
func testLayer(t *testing.T) *source.Layer {
	t.Helper()
	dir := t.TempDir()
	if _, err := fixtures.Sample().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	return openImage(t, dir).Layers[0]
}

// TestConcurrentImagesOneBase: images on one base analyzed at the same
// time by one process decode the base once: the second waits for the
// first's entry.
func TestConcurrentImagesOneBase(t *testing.T) {
	base := fixtures.NewLayer().Dir("usr").File("usr/lib.so", make([]byte, 5000))
	c := newDirCache(t)
	var imgs []*source.Image
	for i := range 6 {
		img := fixtures.NewImage().Add(base).Add(fixtures.NewLayer().File("app", fmt.Appendf(nil, "%d", i)))
		dir := t.TempDir()
		if _, err := img.WriteOCILayout(dir); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, openImage(t, dir))
	}
	var mu sync.Mutex
	decodes := map[int]int{}
	var wg sync.WaitGroup
	for _, img := range imgs {
		wg.Go(func() {
			a, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, Cache: c})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, l := range a.Decoded {
				decodes[l]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if decodes[0] != 1 || decodes[1] != 6 {
		t.Errorf("decodes per layer index %v; want the base once, each app layer once", decodes)
	}
}
