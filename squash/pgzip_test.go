package squash

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/layerlint/layerlint/internal/gzblock"
)

// sampleText is compressible input with some structure, larger than a few
// blocks.
func sampleText(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"layer ", "overlay ", "whiteout ", "opaque ", "digest ", "sha256:", "\n", "usr/lib/", "0x1f8b "}
	var b bytes.Buffer
	for b.Len() < n {
		if r.IntN(10) == 0 {
			b.WriteByte(byte(r.IntN(256)))
			continue
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

func compressParallel(t *testing.T, in []byte, level, workers int, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	z, err := newParallelGzip(&out, level, nil)
	if err != nil {
		t.Fatal(err)
	}
	z.workers = workers
	for p := in; len(p) > 0; {
		k := min(chunk, len(p))
		if _, err := z.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestParallelGzip: the output is one member per block that standard
// readers (stdlib and klauspost, as one multi-member stream) decode to the
// input, that gzblock's reader decodes with every member indexed,
// byte-identical whatever the number of workers and the write sizes, and
// nearly as small as a single-stream gzip.
func TestParallelGzip(t *testing.T) {
	const bs = gzblock.BlockSize
	for _, n := range []int{0, 1, 32<<10 - 1, bs, bs + 1, 3*bs + 12345} {
		in := sampleText(n)
		ref := compressParallel(t, in, gzip.DefaultCompression, 1, 1<<16)
		for _, workers := range []int{2, 7} {
			for _, chunk := range []int{1000, 1 << 20} {
				if got := compressParallel(t, in, gzip.DefaultCompression, workers, chunk); !bytes.Equal(got, ref) {
					t.Fatalf("n=%d: %d workers, writes of %d: output differs", n, workers, chunk)
				}
			}
		}
		std, err := stdgzip.NewReader(bytes.NewReader(ref))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		kp, err := gzip.NewReader(bytes.NewReader(ref))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		br, err := gzblock.NewReader(bufio.NewReader(bytes.NewReader(ref)), 3)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for name, r := range map[string]io.Reader{"compress/gzip": std, "klauspost": kp, "gzblock": br} {
			back, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("n=%d: %s round trip: %v (got %d bytes)", n, name, err, len(back))
			}
		}
		want := max(1, (n+bs-1)/bs)
		if m, idx := br.Members(); m != int64(want) || idx != m {
			t.Errorf("n=%d: %d members, %d indexed; want %d, all indexed", n, m, idx, want)
		}
		if n >= bs {
			var single bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&single, gzip.DefaultCompression)
			_, _ = zw.Write(in)
			_ = zw.Close()
			if float64(len(ref)) > 1.02*float64(single.Len()) {
				t.Errorf("n=%d: parallel %d bytes, single stream %d: more than 2%% larger", n, len(ref), single.Len())
			}
		}
	}
	if _, err := newParallelGzip(io.Discard, 42, nil); err == nil {
		t.Error("level 42 accepted")
	}
}

func BenchmarkGzipSingle(b *testing.B) {
	in := sampleText(16 << 20)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		_, _ = zw.Write(in)
		_ = zw.Close()
	}
}

func BenchmarkGzipParallel(b *testing.B) {
	in := sampleText(16 << 20)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		z, _ := newParallelGzip(io.Discard, gzip.DefaultCompression, nil)
		_, _ = z.Write(in)
		_ = z.Close()
	}
}

// BenchmarkGzipLevels compresses LAYERLINT_BENCH_TAR (a squashed layer's
// tar, see docs/performance.md), or 16 MiB of sample text, on one worker
// at each level layerlint offers, and as crane flatten does (compress/gzip
// at BestCompression, one stream): the CPU and the bytes each level costs.
func BenchmarkGzipLevels(b *testing.B) {
	in := sampleText(16 << 20)
	if p := os.Getenv("LAYERLINT_BENCH_TAR"); p != "" {
		var err error
		if in, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	for level := 1; level <= 9; level++ {
		b.Run(fmt.Sprintf("layerlint-%d", level), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var n countWriter
				z, err := newParallelGzip(&n, level, newCompressPool(1))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = z.Write(in)
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n), "out-bytes")
			}
		})
	}
	b.Run("crane", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var n countWriter
			zw, _ := stdgzip.NewWriterLevel(&n, stdgzip.BestCompression)
			_, _ = zw.Write(in)
			_ = zw.Close()
			b.ReportMetric(float64(n), "out-bytes")
		}
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// TestSharedCompressPool: writers sharing one pool of a single worker (as
// the layers of one fix do) all finish, and each writes the bytes it
// writes alone: the pool bounds the work, never shapes the output.
func TestSharedCompressPool(t *testing.T) {
	t.Parallel()
	in := sampleText(3*gzblock.BlockSize + 777)
	alone := compressParallel(t, in, gzip.DefaultCompression, 4, 1<<16)
	pool := newCompressPool(1)
	if pool.size() != 1 {
		t.Fatalf("pool of %d workers, want 1", pool.size())
	}
	const writers = 5
	outs := make([]bytes.Buffer, writers)
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			z, err := newParallelGzip(&outs[i], gzip.DefaultCompression, pool)
			if err == nil {
				_, err = z.Write(in)
			}
			if err == nil {
				err = z.Close()
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range outs {
		if !bytes.Equal(outs[i].Bytes(), alone) {
			t.Errorf("writer %d: output differs from a writer alone", i)
		}
	}
}
