package layercache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/overlay"
)

var testKey = Key{Digest: "sha256:" + string(bytes.Repeat([]byte("a"), 64)), DiffID: "sha256:" + string(bytes.Repeat([]byte("b"), 64))}

// randomChangesets reads the layers of seeded random stacks: every entry
// kind, xattrs, hard links, whiteouts and opaque markers.
func randomChangesets(t testing.TB, seeds int) []*overlay.Changeset {
	t.Helper()
	var out []*overlay.Changeset
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		for _, l := range fixtures.RandomStack(rng, fixtures.RandomOptions{}) {
			cs, err := overlay.ReadChangeset(bytes.NewReader(l.Tar()), overlay.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, cs)
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	st := source.Stats{Compressed: 123, Uncompressed: 4567, Compression: source.CompressionZstd, Trailing: 3}
	withAnomaly := overlay.NewChangeset(overlay.Entry{Path: "", Kind: overlay.EntryOpaque})
	withAnomaly.Anomalies = []overlay.Anomaly{{Path: "a/.wh..wh.plnk", Kind: overlay.AnomalyAUFSMetadata, Detail: "AUFS metadata entry ignored"}}
	css := append(randomChangesets(t, 40), &overlay.Changeset{}, withAnomaly)
	for i, cs := range css {
		for _, verified := range []bool{false, true} {
			data := Encode(testKey, &Entry{Verified: verified, Stats: st, Changeset: cs})
			got, err := Decode(testKey, data)
			if err != nil {
				t.Fatalf("changeset %d: %v", i, err)
			}
			if got.Verified != verified || got.Stats != st {
				t.Errorf("changeset %d: verified %v stats %+v", i, got.Verified, got.Stats)
			}
			if !reflect.DeepEqual(normal(got.Changeset), normal(cs)) {
				t.Errorf("changeset %d: round trip differs:\n got %+v\nwant %+v", i, got.Changeset, cs)
			}
		}
	}
}

// normalChangeset is what a changeset says, in a form that compares.
type normalChangeset struct {
	Entries      []overlay.Entry
	Anomalies    []overlay.Anomaly
	ContentBytes int64
}

// normal makes empty and nil slices and maps compare equal.
func normal(cs *overlay.Changeset) normalChangeset {
	c := normalChangeset{Anomalies: cs.Anomalies, ContentBytes: cs.ContentBytes}
	for _, e := range cs.All() {
		c.Entries = append(c.Entries, e)
	}
	if len(c.Anomalies) == 0 {
		c.Anomalies = nil
	}
	return c
}

func TestDecodeRejects(t *testing.T) {
	cs := randomChangesets(t, 1)[0]
	good := Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs})
	other := testKey
	other.DiffID = "sha256:" + string(bytes.Repeat([]byte("c"), 64))
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 1
	tests := []struct {
		name string
		key  Key
		data []byte
	}{
		{"empty", testKey, nil},
		{"truncated", testKey, good[:len(good)-1]},
		{"bit flipped", testKey, flip},
		{"another key", other, good},
		{"appended", testKey, append(bytes.Clone(good), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.key, tt.data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestDecodeRejectsForged re-signs payloads that a tar reader could not
// produce: the checksum proves only that the bytes are whole, so the
// decoder must still refuse what would be unsafe downstream.
func TestDecodeRejectsForged(t *testing.T) {
	tests := []struct {
		name string
		e    overlay.Entry
	}{
		{"climbing path", overlay.Entry{Path: "../etc/passwd", Kind: overlay.EntryFile}},
		{"absolute path", overlay.Entry{Path: "/etc/passwd", Kind: overlay.EntryFile}},
		{"unclean path", overlay.Entry{Path: "a//b", Kind: overlay.EntryDir}},
		{"root file", overlay.Entry{Path: "", Kind: overlay.EntryFile}},
		{"climbing hard link", overlay.Entry{Path: "a", Kind: overlay.EntryHardlink, Linkname: "../x"}},
		{"bad kind", overlay.Entry{Path: "a", Kind: 99}},
		{"mode bits", overlay.Entry{Path: "a", Kind: overlay.EntryDir, Mode: 0o170000}},
		{"dir with content", overlay.Entry{Path: "a", Kind: overlay.EntryDir, Size: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := overlay.NewChangeset(tt.e)
			data := Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs})
			if _, err := Decode(testKey, data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode: %v, want ErrCorrupt", err)
			}
		})
	}
	// A changeset holds ids in 32 bits, so Encode cannot write these: the
	// payload is spelled out by hand.
	for _, id := range []int64{-1, 1 << 32} {
		if _, err := Decode(testKey, frame(testKey, 0, dirPayload(id))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("uid %d: Decode: %v, want ErrCorrupt", id, err)
		}
	}
	if _, err := Decode(testKey, frame(testKey, 0, dirPayload(1<<32-1))); err != nil {
		t.Errorf("uid 2^32-1: %v", err)
	}
}

// dirPayload is the payload of a layer of one directory "a" owned by uid,
// in Encode's layout.
func dirPayload(uid int64) []byte {
	var p []byte
	p = binary.AppendVarint(p, 0)                       // compressed
	p = binary.AppendVarint(p, 0)                       // uncompressed
	p = append(p, byte(source.CompressionGzip))         // compression
	p = binary.AppendVarint(p, 0)                       // trailing
	p = binary.AppendVarint(p, 0)                       // content bytes
	p = binary.AppendUvarint(p, 0)                      // anomalies
	p = binary.AppendUvarint(p, 1)                      // entries
	p = binary.AppendUvarint(p, 0)                      // index gap
	p = binary.AppendUvarint(p, 0)                      // shared prefix
	p = appendString(p, "a")                            // path
	p = append(p, byte(overlay.EntryDir))               // kind
	p = binary.AppendUvarint(p, 0o755)                  // mode
	p = binary.AppendVarint(p, uid)                     // uid
	p = binary.AppendVarint(p, 0)                       // gid
	p = binary.AppendVarint(p, 0)                       // size
	p = append(p, make([]byte, len(overlay.Hash{}))...) // hash
	p = appendString(p, "")                             // link name
	p = binary.AppendUvarint(p, 0)                      // devmajor
	p = binary.AppendUvarint(p, 0)                      // devminor
	p = binary.AppendVarint(p, 0)                       // mtime
	p = binary.AppendUvarint(p, 0)                      // xattrs
	p = appendString(p, "")                             // scan ID
	return appendString(p, "")                          // scan results
}

// TestScanResultsRoundTrip: a content scan's results travel with the
// layer; results without a scan's name are refused.
func TestScanResultsRoundTrip(t *testing.T) {
	cs := randomChangesets(t, 1)[0]
	in := &Entry{Verified: true, Stats: source.Stats{Compression: source.CompressionZstd}, Changeset: cs, ScanID: "scan/1", Scan: []byte{1, 2, 3}}
	out, err := Decode(testKey, Encode(testKey, in))
	if err != nil {
		t.Fatal(err)
	}
	if out.ScanID != in.ScanID || !bytes.Equal(out.Scan, in.Scan) || !out.Verified {
		t.Errorf("decoded scan %q %v, want %q %v", out.ScanID, out.Scan, in.ScanID, in.Scan)
	}
	p := dirPayload(0)
	p = append(p[:len(p)-1], 1, 'x') // results, no scan ID
	if _, err := Decode(testKey, frame(testKey, 0, p)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("results without a scan: %v, want ErrCorrupt", err)
	}
}

// TestCompact checks the point of the binary form: a real layer's entry is
// a small fraction of its tar headers.
func TestCompact(t *testing.T) {
	var tarBytes, entryBytes int
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		for _, l := range fixtures.RandomStack(rng, fixtures.RandomOptions{MaxEntries: 200}) {
			tb := l.Tar()
			cs, err := overlay.ReadChangeset(bytes.NewReader(tb), overlay.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tarBytes += len(tb) - int(cs.ContentBytes)
			entryBytes += len(Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs}))
		}
	}
	if entryBytes*4 > tarBytes {
		t.Errorf("entries take %d bytes for %d bytes of tar headers; want under a quarter", entryBytes, tarBytes)
	}
}

// FuzzDecodePayload fuzzes what lies behind the checksum, which a fuzzer
// would otherwise never get past: a shared cache may hold entries written
// by anyone with access to it, checksummed correctly.
func FuzzDecodePayload(f *testing.F) {
	for _, cs := range randomChangesets(f, 3) {
		data := Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs})
		f.Add(payloadOf(data))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		e, err := Decode(testKey, frame(testKey, 1, p))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		for _, en := range e.Changeset.All() {
			if c, ok := overlay.CleanPath(en.Path); !ok || c != en.Path {
				t.Fatalf("unclean path %q decoded", en.Path)
			}
		}
	})
}

// payloadOf cuts the payload out of an entry.
func payloadOf(data []byte) []byte {
	body := data[len(magic)+32+1 : len(data)-32]
	_, n := binary.Uvarint(body)
	return body[n:]
}

func FuzzDecode(f *testing.F) {
	for _, cs := range randomChangesets(f, 3) {
		f.Add(Encode(testKey, &Entry{Verified: true, Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs}))
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(testKey, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		// What decodes must survive a round trip unchanged.
		again, err := Decode(testKey, Encode(testKey, e))
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !reflect.DeepEqual(normal(again.Changeset), normal(e.Changeset)) || again.Stats != e.Stats || again.ScanID != e.ScanID || !bytes.Equal(again.Scan, e.Scan) {
			t.Fatalf("round trip differs")
		}
	})
}

// TestDecodeBoundedMemory: the prefix coding lets an entry name a path of
// n bytes in a few bytes, so a forged entry of a directory chain a/a/a/...
// spells paths of quadratic total length from linear input. Decode must
// refuse it (a miss) instead of allocating them: what it allocates is
// counted (paths, the entries and what string building rounds up), and
// stays linear in the entry's size.
func TestDecodeBoundedMemory(t *testing.T) {
	const n = 12000
	cs := &overlay.Changeset{}
	p := "a"
	for i := range n {
		cs.Append(overlay.Entry{Index: i, Path: p, Kind: overlay.EntryDir, Mode: 0o755})
		p += "/a"
	}
	data := Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(testKey, data)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decoding %d bytes that spell %d bytes of paths: err = %v, want ErrCorrupt", len(data), n*n, err)
	}
	if got, most := after.TotalAlloc-before.TotalAlloc, uint64(3*(maxExpansion*len(data)+expansionSlack)); got > most {
		t.Errorf("decoding %d bytes allocated %d bytes, more than %d", len(data), got, most)
	}
	// A layer as a tar lists it (paths a few times the bytes that code
	// them) still decodes.
	small := &overlay.Changeset{}
	for i, q := range []string{"usr", "usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libm.so.6"} {
		small.Append(overlay.Entry{Index: i, Path: q, Kind: overlay.EntryDir, Mode: 0o755})
	}
	if _, err := Decode(testKey, Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: small})); err != nil {
		t.Fatal(err)
	}
}
