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
	withAnomaly := &overlay.Changeset{
		Anomalies: []overlay.Anomaly{{Path: "a/.wh..wh.plnk", Kind: overlay.AnomalyAUFSMetadata, Detail: "AUFS metadata entry ignored"}},
		Entries:   []overlay.Entry{{Path: "", Kind: overlay.EntryOpaque}},
	}
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

// normal makes empty and nil slices and maps compare equal.
func normal(cs *overlay.Changeset) overlay.Changeset {
	c := *cs
	if len(c.Entries) == 0 {
		c.Entries = nil
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
		{"negative uid", overlay.Entry{Path: "a", Kind: overlay.EntryDir, UID: -1}},
		{"dir with content", overlay.Entry{Path: "a", Kind: overlay.EntryDir, Size: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := &overlay.Changeset{Entries: []overlay.Entry{tt.e}}
			data := Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: cs})
			if _, err := Decode(testKey, data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode: %v, want ErrCorrupt", err)
			}
		})
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
		for _, en := range e.Changeset.Entries {
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
		if !reflect.DeepEqual(normal(again.Changeset), normal(e.Changeset)) || again.Stats != e.Stats {
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
		cs.Entries = append(cs.Entries, overlay.Entry{Index: i, Path: p, Kind: overlay.EntryDir, Mode: 0o755})
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
		small.Entries = append(small.Entries, overlay.Entry{Index: i, Path: q, Kind: overlay.EntryDir, Mode: 0o755})
	}
	if _, err := Decode(testKey, Encode(testKey, &Entry{Stats: source.Stats{Compression: source.CompressionGzip}, Changeset: small})); err != nil {
		t.Fatal(err)
	}
}
