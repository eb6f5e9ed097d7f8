package analyze_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
)

// progressLog records the reports of Options.Progress, which arrive from
// several goroutines.
type progressLog struct {
	mu      sync.Mutex
	reports map[int][]analyze.LayerProgress
}

func (p *progressLog) add(r analyze.LayerProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reports == nil {
		p.reports = map[int][]analyze.LayerProgress{}
	}
	p.reports[r.Layer] = append(p.reports[r.Layer], r)
}

// TestProgressReportsEveryLayer: each layer is reported started, then
// every ProgressStep blob bytes, then done with all its bytes read; the
// counts never go back.
func TestProgressReportsEveryLayer(t *testing.T) {
	t.Parallel()
	// 1 MiB that does not compress: a layer of four progress steps at least.
	big := make([]byte, 1<<20)
	x := uint32(1)
	for i := range big {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		big[i] = byte(x)
	}
	dir := t.TempDir()
	w, err := fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/small", []byte("small"))).
		Add(fixtures.NewLayer().File("opt/big.bin", big), fixtures.Compressed(fixtures.None)).
		WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log progressLog
	a := analyzeRef(t, dir, analyze.Options{Progress: log.add})
	if len(log.reports) != len(a.Image.Layers) {
		t.Fatalf("reports for %d layers, want %d", len(log.reports), len(a.Image.Layers))
	}
	for i, l := range a.Image.Layers {
		rs := log.reports[i]
		first, last := rs[0], rs[len(rs)-1]
		if first.Done || first.Read != 0 || first.Size != w.Layers[i].Size {
			t.Errorf("layer %d: first report %+v, want a start of size %d", i, first, w.Layers[i].Size)
		}
		if !last.Done || last.Err != nil || last.Read != l.Size {
			t.Errorf("layer %d: last report %+v, want done with %d bytes read", i, last, l.Size)
		}
		for j := 1; j < len(rs); j++ {
			if rs[j].Read < rs[j-1].Read || (rs[j-1].Done) {
				t.Errorf("layer %d: report %d %+v after %+v", i, j, rs[j], rs[j-1])
			}
		}
	}
	if n, want := len(log.reports[1]), int(w.Layers[1].Size/analyze.ProgressStep)+2; n < want {
		t.Errorf("the 1 MiB layer got %d reports, want at least %d (start, every step, done)", n, want)
	}
}

// TestProgressReportsFailure: a layer that fails is reported done with
// its error.
func TestProgressReportsFailure(t *testing.T) {
	t.Parallel()
	img := openOne(t, imagetest.CorruptSample(t, 1), source.Options{Verify: true})
	var log progressLog
	_, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, Progress: log.add, Parallel: 1})
	if !errors.Is(err, source.ErrDigestMismatch) {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
	rs := log.reports[1]
	if len(rs) == 0 || !rs[len(rs)-1].Done || !errors.Is(rs[len(rs)-1].Err, source.ErrDigestMismatch) {
		t.Errorf("layer 1 reports %+v, want done with the mismatch", rs)
	}
}
