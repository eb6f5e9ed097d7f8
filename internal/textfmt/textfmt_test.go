package textfmt

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{Percent(0.1234), "12.3%"},
		{Percent(1), "100.0%"},
		{Plural(1, "file", "files"), "1 file"},
		{Plural(0, "file", "files"), "0 files"},
		{JoinInts([]int{0, 2, 3}), "0,2,3"},
		{JoinInts(nil), ""},
		{Painter(false).Bold("x"), "x"},
		{Painter(true).Bold("x"), "\x1b[1mx\x1b[0m"},
		{Painter(true).Warn(""), ""},
		{Bytes(0), "0 B"},
		{Bytes(999), "999 B"},
		{Bytes(-999), "-999 B"},
		{Bytes(1000), "1.0 kB"},
		{Bytes(1024), "1.0 kB"},
		{Bytes(1_500_000), "1.5 MB"},
		{Bytes(-1_500_000), "-1.5 MB"},
		{Bytes(3 << 30), "3.2 GB"},
		{Bytes(1 << 52), "4.5 PB"},
		{Bytes(1 << 62), "4.6 EB"},
		{Bytes(math.MaxInt64), "9.2 EB"},
		{Bytes(math.MinInt64), "-9.2 EB"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

type failing struct{ n int }

func (f *failing) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("full")
}

func TestWriterKeepsFirstError(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Printf("a%d", 1)
	if w.Err != nil || buf.String() != "a1" {
		t.Fatalf("got %q, %v", buf.String(), w.Err)
	}
	f := &failing{}
	w = NewWriter(f)
	w.Printf("a")
	w.Printf("b")
	if w.Err == nil || f.n != 1 {
		t.Fatalf("err %v after %d writes; want the first error and no second write", w.Err, f.n)
	}
}
