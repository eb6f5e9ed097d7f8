package overlay

import (
	"archive/tar"
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// bigLayer writes a tar of n small files spread over directories of 100.
func bigLayer(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	for i := range n {
		name := fmt.Sprintf("usr/share/pkg%03d/dir%03d/file-%06d.txt", i/10000, (i/100)%100, i)
		body := fmt.Appendf(nil, "content %d", i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: mt}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkApply100k measures applying one layer of 100k entries to the
// model (the changeset is read once, outside the timer) and reports the
// model's memory per path.
func BenchmarkApply100k(b *testing.B) {
	const n = 100_000
	cs, err := ReadChangeset(bytes.NewReader(bigLayer(b, n)), ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	paths := 0
	var perPath float64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		m := NewModel()
		m.Apply(cs)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		paths = len(m.Files())
		perPath = float64(after.HeapAlloc-before.HeapAlloc) / float64(paths)
		runtime.KeepAlive(m)
		b.StartTimer()
	}
	b.ReportMetric(perPath, "B/path")
	b.ReportMetric(float64(paths), "paths")
}

// BenchmarkReadChangeset100k measures parsing and hashing a 100k-entry tar.
func BenchmarkReadChangeset100k(b *testing.B) {
	l := bigLayer(b, 100_000)
	b.SetBytes(int64(len(l)))
	for b.Loop() {
		if _, err := ReadChangeset(bytes.NewReader(l), ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadChangesetContent measures parsing and hashing a tar of 256
// files of 256 KiB (64 MiB of content): the cost of hashing content, which
// the 100k-entry benchmark of tiny files hides behind header parsing.
func BenchmarkReadChangesetContent(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := make([]byte, 256<<10)
	for i := range body {
		body[i] = byte(i*7 + i>>9)
	}
	for i := range 256 {
		body[0] = byte(i)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%03d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	l := buf.Bytes()
	b.SetBytes(int64(len(l)))
	for b.Loop() {
		if _, err := ReadChangeset(bytes.NewReader(l), ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
