package gzblock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// indexedMember is one member as layerlint writes it (squash's
// parallelGzip is the writer; this is its format, kept small here).
func indexedMember(t testing.TB, block []byte) []byte {
	t.Helper()
	var body bytes.Buffer
	fw, err := flate.NewWriter(&body, 5)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(block)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	n := HeaderLen + body.Len() + TrailerLen
	m := AppendHeader(nil, uint32(n))
	m = append(m, body.Bytes()...)
	m = binary.LittleEndian.AppendUint32(m, crc32.ChecksumIEEE(block))
	return binary.LittleEndian.AppendUint32(m, uint32(len(block)))
}

// plainMember is a gzip member without the length field.
func plainMember(t testing.TB, block []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(block)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func text(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"layer ", "overlay ", "whiteout ", "opaque\n", "sha256:", "usr/lib/"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

// readAll reads stream through Reader with workers, and the rest after it.
func readAll(stream []byte, workers int) (out []byte, rest int64, members, indexed int64, err error) {
	r, err := NewReader(bufio.NewReader(bytes.NewReader(stream)), workers)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	out, err = io.ReadAll(r)
	if err != nil {
		return out, 0, 0, 0, err
	}
	rest, err = io.Copy(io.Discard, r.Rest())
	members, indexed = r.Members()
	return out, rest, members, indexed, err
}

// serialAll is the reference: the members read one after another.
func serialAll(stream []byte) (out []byte, rest int64, err error) {
	br := bufio.NewReader(bytes.NewReader(stream))
	s, err := newSerialReader(br)
	if err != nil {
		return nil, 0, err
	}
	out, err = io.ReadAll(s)
	if err != nil {
		return out, 0, err
	}
	rest, err = io.Copy(io.Discard, br)
	return out, rest, err
}

func TestReader(t *testing.T) {
	t.Parallel()
	a, b, c := text(1, 70_000), text(2, 1000), text(3, 300_000)
	ia, ib, ic := indexedMember(t, a), indexedMember(t, b), indexedMember(t, c)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	setLen := func(m []byte, delta int) []byte {
		m = bytes.Clone(m)
		binary.LittleEndian.PutUint32(m[16:], uint32(int(binary.LittleEndian.Uint32(m[16:]))+delta))
		return m
	}
	big := text(4, BlockSize+10)
	tests := []struct {
		name             string
		stream           []byte
		want             []byte
		rest             int64
		members, indexed int64
		fails            bool
	}{
		{name: "indexed", stream: cat(ia, ib, ic), want: cat(a, b, c), members: 3, indexed: 3},
		{name: "one empty member", stream: indexedMember(t, nil), members: 1, indexed: 1},
		{name: "plain", stream: cat(plainMember(t, a), plainMember(t, b)), want: cat(a, b), members: 2},
		{name: "indexed then plain", stream: cat(ia, plainMember(t, b), ic), want: cat(a, b, c), members: 3, indexed: 1},
		{name: "trailing garbage", stream: cat(ia, ib, []byte("garbage")), want: cat(a, b), rest: 7, members: 2, indexed: 2},
		{name: "trailing zeros", stream: cat(ia, make([]byte, 512)), want: a, rest: 512, members: 1, indexed: 1},
		// A named length that is wrong never changes what is read: the
		// stream is read serially from that member on.
		{name: "length one too long", stream: cat(setLen(ia, 1), ib, ic), want: cat(a, b, c), members: 3, indexed: 0},
		{name: "length one too short", stream: cat(ia, setLen(ib, -1), ic), want: cat(a, b, c), members: 3, indexed: 1},
		{name: "length spans two members", stream: cat(setLen(ia, len(ib)), ib, ic), want: cat(a, b, c), members: 3, indexed: 0},
		{name: "length past the end", stream: cat(ia, setLen(ic, 1000)), want: cat(a, c), members: 2, indexed: 1},
		{name: "length too small to be a member", stream: cat(setLen(ia, -len(ia)+5), ib), want: cat(a, b), members: 2, indexed: 0},
		{name: "member holds more than a block", stream: cat(ib, indexedMember(t, big)), want: cat(b, big), members: 2, indexed: 1},
		{name: "corrupt member", stream: func() []byte { s := cat(ia, ib, ic); s[len(ia)+len(ib)+100] ^= 0xff; return s }(), fails: true},
		{name: "bad CRC", stream: func() []byte { s := cat(ia, ib); s[len(s)-len(ib)-5] ^= 1; return s }(), fails: true},
		{name: "truncated", stream: cat(ia, ib, ic)[:len(ia)+len(ib)+len(ic)-3], fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, workers := range []int{1, 2, 8} {
				out, rest, members, indexed, err := readAll(tt.stream, workers)
				if tt.fails {
					if err == nil {
						t.Fatalf("%d workers: read without error", workers)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d workers: %v", workers, err)
				}
				if !bytes.Equal(out, tt.want) || rest != tt.rest {
					t.Fatalf("%d workers: read %d bytes and %d after, want %d and %d", workers, len(out), rest, len(tt.want), tt.rest)
				}
				if members != tt.members || indexed != tt.indexed {
					t.Fatalf("%d workers: %d members, %d indexed; want %d, %d", workers, members, indexed, tt.members, tt.indexed)
				}
			}
		})
	}
}

// TestReaderBadFirstHeader: a bad first header fails NewReader, as a
// serial reader's would.
func TestReaderBadFirstHeader(t *testing.T) {
	t.Parallel()
	if _, err := NewReader(bufio.NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 9, 0})), 2); err == nil {
		t.Fatal("a header with CM 9 was accepted")
	}
}

// FuzzReader: whatever the bytes, the parallel reader reads what the
// serial reader reads, fails where it fails, and leaves the same rest.
func FuzzReader(f *testing.F) {
	a, b := text(1, 5000), text(2, 300)
	f.Add(bytes.Join([][]byte{indexedMember(f, a), indexedMember(f, b)}, nil), uint8(2))
	f.Add(bytes.Join([][]byte{indexedMember(f, a), plainMember(f, b), []byte("xx")}, nil), uint8(1))
	f.Add(indexedMember(f, nil), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, workers uint8) {
		if len(stream) < 2 || stream[0] != 0x1f || stream[1] != 0x8b {
			return
		}
		want, wantRest, wantErr := serialAll(stream)
		got, gotRest, _, _, gotErr := readAll(stream, int(workers%8))
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("serial error %v, parallel error %v", wantErr, gotErr)
		}
		if wantErr == nil && (!bytes.Equal(got, want) || gotRest != wantRest) {
			t.Fatalf("parallel read %d bytes and %d after, serial %d and %d", len(got), gotRest, len(want), wantRest)
		}
	})
}
