package overlay

import (
	"crypto/sha256"
	"iter"
	"math"
)

// A changeset holds one record per tar entry of a layer, and an image may
// have millions: the records are kept compact (docs/performance.md,
// "Memory"). What every entry has (path, kind, mode, owner, size, time,
// tar position) is in line in 56 bytes; a content hash, which only a
// regular file with content needs, lives in a table of its own; what few
// entries have (a link target, device numbers, xattrs) lives out of line.
// Entries are stored in fixed-size chunks, so that a layer of a million
// entries is never copied to grow and a Model that consumes a changeset
// can let each chunk go once it is applied.

// chunkBits sizes the chunks of entries and hashes: 1,024 entries (56 KiB)
// or hashes (32 KiB) each.
const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
)

// entry is the stored form of an Entry.
type entry struct {
	path  string
	size  int64
	mtime int64
	uid   uint32
	gid   uint32
	index uint32
	// aux is the index of the entry's extra in Changeset.extras when
	// hasExtra is set; otherwise the hash index of a regular file (see
	// hashTable).
	aux      uint32
	mode     uint32
	kind     EntryKind
	hasExtra bool
}

// entryExtra is the rarely set part of an entry.
type entryExtra struct {
	linkname           string
	xattrs             map[string]string
	devmajor, devminor uint32
	hash               uint32 // the hash index of a regular file
}

// Reserved hash indexes: no hash (every entry but a regular file), and the
// SHA-256 of no bytes (every empty file), so that neither takes a slot.
const (
	hashNone  uint32 = 0
	hashEmpty uint32 = 1
	hashFirst uint32 = 2
)

// emptyHash is the content hash of an empty file.
var emptyHash = Hash(sha256.Sum256(nil))

// hashTable holds the content hashes of one layer's files, in chunks. A
// Model keeps the table of each layer it applied: a version names its
// hash by index, not by value.
type hashTable struct {
	chunks []*[chunkLen]Hash
	n      uint32 // hashes stored, the reserved ones not counted
}

// add stores h and returns its index.
func (t *hashTable) add(h Hash) uint32 {
	switch h {
	case Hash{}:
		return hashNone
	case emptyHash:
		return hashEmpty
	}
	i := t.n
	if i&(chunkLen-1) == 0 {
		t.chunks = append(t.chunks, new([chunkLen]Hash))
	}
	t.chunks[i>>chunkBits][i&(chunkLen-1)] = h
	t.n++
	return i + hashFirst
}

// at returns the hash of index i.
func (t *hashTable) at(i uint32) Hash {
	switch i {
	case hashNone:
		return Hash{}
	case hashEmpty:
		return emptyHash
	}
	i -= hashFirst
	return t.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// Len returns the number of entries.
func (cs *Changeset) Len() int { return cs.n }

// Append adds e after the entries of cs. UID and GID are clamped to the
// 32-bit range Linux uses (negative ones to 0), as the model clamps them;
// Index must be in [0, 2^32): ReadChangeset and the layer cache check it.
func (cs *Changeset) Append(e Entry) {
	s := entry{
		path: e.Path, size: e.Size, mtime: e.ModTime,
		uid: clampID(e.UID), gid: clampID(e.GID), index: clampIndex(e.Index),
		mode: e.Mode, kind: e.Kind,
	}
	h := cs.hashes.add(e.Hash)
	if e.Linkname != "" || e.Xattrs != nil || e.Devmajor != 0 || e.Devminor != 0 {
		s.hasExtra = true
		s.aux = uint32(len(cs.extras)) //nolint:gosec // at most one extra per entry, and entries are counted in 32 bits
		cs.extras = append(cs.extras, entryExtra{linkname: e.Linkname, xattrs: e.Xattrs, devmajor: e.Devmajor, devminor: e.Devminor, hash: h})
	} else {
		s.aux = h
	}
	if cs.n&(chunkLen-1) == 0 {
		cs.chunks = append(cs.chunks, make([]entry, 0, chunkLen))
	}
	c := &cs.chunks[cs.n>>chunkBits]
	*c = append(*c, s)
	cs.n++
}

// NewChangeset returns a changeset of the given entries, for tests and
// for builders of changesets that read no tar. ContentBytes and
// Anomalies are the caller's to set.
func NewChangeset(entries ...Entry) *Changeset {
	cs := &Changeset{}
	for _, e := range entries {
		cs.Append(e)
	}
	return cs
}

// Entry returns the i-th entry, in tar order (0 <= i < Len()).
func (cs *Changeset) Entry(i int) Entry {
	return cs.expand(cs.at(i))
}

// All yields every entry with its position, in tar order.
func (cs *Changeset) All() iter.Seq2[int, Entry] {
	return func(yield func(int, Entry) bool) {
		for i := range cs.n {
			if !yield(i, cs.Entry(i)) {
				return
			}
		}
	}
}

func (cs *Changeset) at(i int) *entry {
	return &cs.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// expand returns the public form of a stored entry.
func (cs *Changeset) expand(s *entry) Entry {
	e := Entry{
		Path: s.path, Kind: s.kind, Mode: s.mode, UID: int(s.uid), GID: int(s.gid),
		Size: s.size, ModTime: s.mtime, Index: int(s.index),
	}
	h := s.aux
	if s.hasExtra {
		x := &cs.extras[s.aux]
		e.Linkname, e.Xattrs, e.Devmajor, e.Devminor = x.linkname, x.xattrs, x.devmajor, x.devminor
		h = x.hash
	}
	e.Hash = cs.hashes.at(h)
	return e
}

// hashIndex returns the hash index of a stored entry.
func (cs *Changeset) hashIndex(s *entry) uint32 {
	if s.hasExtra {
		return cs.extras[s.aux].hash
	}
	return s.aux
}

// extra returns the out-of-line attributes of a stored entry: its link
// target, xattrs and device numbers, zero when it has none.
func (cs *Changeset) extra(s *entry) (linkname string, xattrs map[string]string, devmajor, devminor uint32) {
	if !s.hasExtra {
		return "", nil, 0, 0
	}
	x := &cs.extras[s.aux]
	return x.linkname, x.xattrs, x.devmajor, x.devminor
}

// linkname returns the link target of a stored entry.
func (cs *Changeset) linkname(s *entry) string {
	if !s.hasExtra {
		return ""
	}
	return cs.extras[s.aux].linkname
}

// clampIndex keeps a tar position in 32 bits.
func clampIndex(i int) uint32 {
	if i < 0 {
		return 0
	}
	if int64(i) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(i)
}
