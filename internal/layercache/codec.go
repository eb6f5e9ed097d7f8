// Package layercache keeps analyzed layers so that a layer blob is
// decoded once, by one process, across runs and across a fleet of runners.
//
// An entry is a layer's changeset (every entry's path, kind, mode, owner,
// size, content hash, link target, device numbers, time and extended
// attributes, plus the anomalies met while reading it) and the counts of
// the stream it was read from, in a compact binary form. Entries are
// keyed by the layer's blob digest, its diff_id and the analysis version,
// and prove their own integrity: an entry carries its key, its version
// and a SHA-256 of its bytes, and one that does not match in every
// respect is a miss, never an error and never a result.
package layercache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// AnalysisVersion names what a changeset means. Bump it whenever reading
// a layer would give a different changeset for the same bytes (a new
// field, a new anomaly, another content hash): entries of other versions
// are then never read.
//
// Version 2 added the results of a content scan (analyze.Scanner) at the
// end of the payload.
const AnalysisVersion = "layerlint-changeset/2 sha256-content"

// magic starts every entry.
const magic = "LLCE"

// maxIndex bounds a tar position: a changeset stores it in 32 bits, far
// above any entry cap.
const maxIndex = math.MaxUint32

// maxExpansion and expansionSlack bound the bytes of the paths and link
// names an entry decodes to: maxExpansion times the entry's size, plus
// expansionSlack. The prefix coding names a path of n bytes in a few, so
// a forged entry of a directory chain a/a/a/... (each path the previous
// one and "/a") would otherwise spell paths of quadratic total length out
// of linear input: 1 MiB of entry, gigabytes of strings. A real layer's
// listing expands a few times; one beyond the bound is a miss (decoded
// again from its blob), which costs time, never memory.
const (
	maxExpansion   = 16
	expansionSlack = 1 << 20
)

// ErrCorrupt reports an entry that is not a valid entry for its key.
var ErrCorrupt = errors.New("corrupt cache entry")

// Key names a cache entry: what the layer is (its blob digest and
// diff_id) and what reading it meant (the analysis version).
type Key struct {
	Digest, DiffID string
}

// KeyOf returns the key of a layer.
func KeyOf(l *source.Layer) Key {
	return Key{Digest: l.Digest.String(), DiffID: l.DiffID.String()}
}

// Name is the entry's name in a store: a hex SHA-256 of the key and the
// analysis version, so it is safe as a file name and a Redis key.
func (k Key) Name() string {
	sum := k.sum()
	return hex.EncodeToString(sum[:])
}

func (k Key) sum() [32]byte {
	return sha256.Sum256([]byte(AnalysisVersion + "\x00" + k.Digest + "\x00" + k.DiffID))
}

// Entry is what a cache entry holds: analyze's cached layer, so that the
// encoding stays here, in one place.
type Entry = analyze.CachedLayer

// maxScanIDBytes bounds the name of a content scan an entry holds results
// of; a scan's own results are bounded by the entry's size.
const maxScanIDBytes = 256

// Encode returns the entry for key in binary form.
//
// Layout: magic, the 32-byte key sum, a flags byte, the payload length
// (uvarint), the payload, then a SHA-256 of everything before it. In the
// payload, a path is stored as the length of the prefix it shares with the
// previous entry's path and the rest, which makes a tar's depth-first
// listing cost a few bytes per entry. The payload ends with the ID of the
// content scan made while the layer was read and that scan's results,
// both empty when there was none.
func Encode(key Key, e *Entry) []byte {
	var p []byte
	st := e.Stats
	p = binary.AppendVarint(p, st.Compressed)
	p = binary.AppendVarint(p, st.Uncompressed)
	p = append(p, byte(st.Compression))
	p = binary.AppendVarint(p, st.Trailing)
	cs := e.Changeset
	p = binary.AppendVarint(p, cs.ContentBytes)
	p = binary.AppendUvarint(p, uint64(len(cs.Anomalies)))
	for _, a := range cs.Anomalies {
		p = append(p, byte(a.Kind))
		p = appendString(p, a.Path)
		p = appendString(p, a.Detail)
	}
	p = binary.AppendUvarint(p, uint64(cs.Len())) //nolint:gosec // a length
	prev, prevIndex := "", -1
	for _, en := range cs.All() {
		// Tar positions grow with every entry: stored as the gap.
		p = binary.AppendUvarint(p, uint64(en.Index-prevIndex-1)) //nolint:gosec // positions increase
		prevIndex = en.Index
		shared := commonPrefix(prev, en.Path)
		p = binary.AppendUvarint(p, uint64(shared)) //nolint:gosec // a length
		p = appendString(p, en.Path[shared:])
		prev = en.Path
		p = append(p, byte(en.Kind))
		p = binary.AppendUvarint(p, uint64(en.Mode))
		p = binary.AppendVarint(p, int64(en.UID))
		p = binary.AppendVarint(p, int64(en.GID))
		p = binary.AppendVarint(p, en.Size)
		p = append(p, en.Hash[:]...)
		p = appendString(p, en.Linkname)
		p = binary.AppendUvarint(p, uint64(en.Devmajor))
		p = binary.AppendUvarint(p, uint64(en.Devminor))
		p = binary.AppendVarint(p, en.ModTime)
		p = binary.AppendUvarint(p, uint64(len(en.Xattrs)))
		for _, k := range slices.Sorted(maps.Keys(en.Xattrs)) {
			p = appendString(p, k)
			p = appendString(p, en.Xattrs[k])
		}
	}
	p = appendString(p, e.ScanID)
	p = binary.AppendUvarint(p, uint64(len(e.Scan)))
	p = append(p, e.Scan...)
	var flags byte
	if e.Verified {
		flags |= 1
	}
	return frame(key, flags, p)
}

// frame wraps a payload: magic, key sum, flags, length, payload, checksum.
func frame(key Key, flags byte, p []byte) []byte {
	sum := key.sum()
	out := make([]byte, 0, len(magic)+len(sum)+1+binary.MaxVarintLen64+len(p)+sha256.Size)
	out = append(out, magic...)
	out = append(out, sum[:]...)
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(p)))
	out = append(out, p...)
	check := sha256.Sum256(out)
	return append(out, check[:]...)
}

// Decode parses an entry read from a store under key. Any entry that is
// not exactly what Encode wrote for key (truncated, bit-flipped, another
// version, another key, a hostile one) fails with ErrCorrupt.
func Decode(key Key, data []byte) (*Entry, error) {
	if len(data) < len(magic)+32+1+1+sha256.Size {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(data))
	}
	body, check := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], check) {
		return nil, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	if string(body[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: magic", ErrCorrupt)
	}
	body = body[len(magic):]
	want := key.sum()
	if !bytes.Equal(body[:32], want[:]) {
		return nil, fmt.Errorf("%w: written for another layer or version", ErrCorrupt)
	}
	flags := body[32]
	if flags&^1 != 0 {
		return nil, fmt.Errorf("%w: flags %#x", ErrCorrupt, flags)
	}
	d := decoder{b: body[33:]}
	n := d.uvarint()
	if d.err == nil && n != uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: payload length", ErrCorrupt)
	}
	e := &Entry{Verified: flags&1 != 0, Changeset: &overlay.Changeset{}}
	d.payload(e)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return e, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) payload(e *Entry) {
	st := &e.Stats
	st.Compressed = d.nonNegative("compressed size")
	st.Uncompressed = d.nonNegative("uncompressed size")
	st.Compression = source.Compression(d.byte())
	if st.Compression != source.CompressionNone && st.Compression != source.CompressionGzip && st.Compression != source.CompressionZstd {
		d.fail("compression")
	}
	st.Trailing = d.nonNegative("trailing bytes")
	cs := e.Changeset
	cs.ContentBytes = d.nonNegative("content bytes")
	// Every anomaly takes at least 3 bytes and every entry at least 12, so
	// a count larger than the bytes left is a lie, caught before the
	// slice is allocated.
	na := d.count(3, "anomalies")
	if na > 0 {
		cs.Anomalies = make([]overlay.Anomaly, 0, na)
	}
	for range na {
		k := overlay.AnomalyKind(d.byte())
		if k < overlay.AnomalyWhiteoutHidesNothing || k > overlay.AnomalyRootEntry {
			d.fail("anomaly kind")
		}
		cs.Anomalies = append(cs.Anomalies, overlay.Anomaly{Kind: k, Path: d.string(), Detail: d.string()})
	}
	ne := d.count(12, "entries")
	var content int64
	es := entryState{prevIndex: -1, budget: int64(maxExpansion)*int64(len(d.b)) + expansionSlack}
	for range ne {
		en, ok := d.entry(&es)
		if !ok {
			return
		}
		if en.Kind == overlay.EntryFile {
			content += en.Size
			if content < 0 {
				d.fail("content bytes overflow")
				return
			}
		}
		cs.Append(en)
	}
	if d.err == nil && content != cs.ContentBytes {
		d.fail("content bytes do not add up")
	}
	e.ScanID = d.string()
	if len(e.ScanID) > maxScanIDBytes {
		d.fail("scan ID")
	}
	if scan := d.string(); len(scan) > 0 {
		if e.ScanID == "" {
			d.fail("scan results without a scan")
		}
		e.Scan = []byte(scan)
	}
}

// entryState is what decoding an entry needs of the one before it.
type entryState struct {
	prev      string
	prevIndex int
	// budget bounds the bytes of paths and link names that prefix sharing
	// may expand the payload to.
	budget int64
}

// entry decodes one changeset entry; false when the payload is corrupt.
func (d *decoder) entry(st *entryState) (overlay.Entry, bool) {
	gap := d.uvarint()
	if gap > uint64(maxIndex-st.prevIndex-1) { //nolint:gosec // prevIndex < maxIndex
		d.fail("entry position")
		return overlay.Entry{}, false
	}
	index := st.prevIndex + 1 + int(gap) //nolint:gosec // bounded above
	st.prevIndex = index
	shared := d.uvarint()
	rest := d.string()
	if d.err != nil {
		return overlay.Entry{}, false
	}
	if shared > uint64(len(st.prev)) {
		d.fail("path prefix")
		return overlay.Entry{}, false
	}
	// Checked before the path is built: the budget is what makes a
	// decode cost memory linear in the entry.
	if st.budget -= int64(shared) + int64(len(rest)); st.budget < 0 { //nolint:gosec // shared <= len(st.prev)
		d.fail("paths expand beyond their bound")
		return overlay.Entry{}, false
	}
	en := overlay.Entry{Index: index}
	en.Path = st.prev[:shared] + rest
	st.prev = en.Path
	en.Kind = overlay.EntryKind(d.byte())
	en.Mode = uint32(d.uvarint()) //nolint:gosec // checked below
	en.UID = int(d.varint())
	en.GID = int(d.varint())
	en.Size = d.nonNegative("size")
	en.Hash = d.hash()
	en.Linkname = d.string()
	st.budget -= int64(len(en.Linkname))
	en.Devmajor = uint32(d.uvarint()) //nolint:gosec // checked below
	en.Devminor = uint32(d.uvarint()) //nolint:gosec // checked below
	en.ModTime = d.varint()
	nx := d.count(2, "xattrs")
	if nx > 0 {
		en.Xattrs = make(map[string]string, nx)
	}
	for range nx {
		k := d.string()
		en.Xattrs[k] = d.string()
	}
	if d.err != nil {
		return overlay.Entry{}, false
	}
	if err := checkEntry(&en, len(en.Xattrs) != nx); err != nil {
		d.fail(err.Error())
		return overlay.Entry{}, false
	}
	return en, true
}

// checkEntry holds a decoded entry to what ReadChangeset can produce, so
// that an entry forged in a shared cache cannot carry a path that a tar
// reader would have refused.
func checkEntry(en *overlay.Entry, dupXattr bool) error {
	if en.Kind < overlay.EntryFile || en.Kind > overlay.EntryOpaque {
		return errors.New("entry kind")
	}
	if en.Mode&^0o7777 != 0 || !isID(en.UID) || !isID(en.GID) || dupXattr {
		return errors.New("entry attributes")
	}
	if p, ok := overlay.CleanPath(en.Path); !ok || p != en.Path || (p == "" && en.Kind != overlay.EntryOpaque) {
		return errors.New("entry path")
	}
	if en.Kind == overlay.EntryHardlink {
		if p, ok := overlay.CleanPath(en.Linkname); !ok || p != en.Linkname || p == "" {
			return errors.New("hard link target")
		}
	} else if en.Kind != overlay.EntrySymlink && en.Linkname != "" {
		return errors.New("link name on a non-link")
	}
	if en.Kind != overlay.EntryFile && (en.Size != 0 || en.Hash != (overlay.Hash{})) {
		return errors.New("content on a non-file")
	}
	return nil
}

// isID reports whether id is one a changeset can hold: it clamps ids to
// the 32-bit range Linux uses.
func isID(id int) bool { return id >= 0 && int64(id) <= math.MaxUint32 }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) nonNegative(what string) int64 {
	v := d.varint()
	if v < 0 {
		d.fail("negative " + what)
		return 0
	}
	return v
}

// count reads a count of items of at least min bytes each.
func (d *decoder) count(minBytes int, what string) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/minBytes) { //nolint:gosec // a length
		d.fail("count of " + what)
		return 0
	}
	return int(v) //nolint:gosec // bounded by len(d.b)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("truncated string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) hash() overlay.Hash {
	var h overlay.Hash
	if len(d.b) < len(h) {
		d.fail("truncated hash")
		return h
	}
	d.b = d.b[copy(h[:], d.b):]
	return h
}

func appendString(p []byte, s string) []byte {
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
