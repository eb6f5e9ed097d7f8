// Package gzblock is the gzip framing layerlint writes and reads in
// parallel: a gzip file of consecutive members (RFC 1952 §2.2), each
// holding at most BlockSize uncompressed bytes and naming its own length
// in an extra field of its header. Every gzip reader reads such a file as
// one stream (members are concatenated, their outputs too); a reader that
// knows the extra field finds each member without decoding the one before
// it, and so decodes them on several cores.
//
// The length a header names is never trusted: Reader decodes each member
// from the bytes the length delimits and requires the member to end
// exactly there; a member that does not is decoded again serially from
// where it starts, as any gzip reader would, and is counted as not indexed.
package gzblock

import "encoding/binary"

// BlockSize is the most uncompressed bytes a member holds. It is a
// constant, never derived from the machine, because it shapes the output:
// with it fixed, the bytes written do not depend on how many cores wrote
// them.
const BlockSize = 1 << 20

// maxMember is the longest member Reader decodes in parallel. Deflate
// expands incompressible input by a few bytes per 64 KiB stored block, so
// a member of BlockSize input is far shorter; a longer one (which
// layerlint never writes) is decoded serially.
const maxMember = BlockSize + BlockSize/8

// HeaderLen is the length of a member header: the 10 fixed bytes, the
// 2-byte XLEN and one 8-byte subfield.
const HeaderLen = 20

// TrailerLen is the length of a member trailer: CRC-32 and ISIZE.
const TrailerLen = 8

// The subfield ID (SI1, SI2) that carries the member length.
const si1, si2 = 'L', 'l'

// AppendHeader appends the header of a member memberLen bytes long,
// header and trailer included. The header names no file and no time, so a
// member depends only on its input and the compression level.
func AppendHeader(dst []byte, memberLen uint32) []byte {
	dst = append(dst,
		0x1f, 0x8b, // magic
		8,          // CM: deflate
		4,          // FLG: FEXTRA only
		0, 0, 0, 0, // MTIME: none
		0,    // XFL
		255,  // OS: unknown
		8, 0, // XLEN
		si1, si2, 4, 0, // subfield ID and LEN
	)
	return binary.LittleEndian.AppendUint32(dst, memberLen)
}

// memberLen reads the length a header names; false when h is not a header
// of exactly the form AppendHeader writes, or names an impossible length.
func memberLen(h []byte) (int, bool) {
	if len(h) < HeaderLen {
		return 0, false
	}
	fixed := [...]byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 8, 0, si1, si2, 4, 0}
	if [16]byte(h[:16]) != fixed {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(h[16:20]))
	// The shortest member holds an empty final deflate block (2 bytes).
	if n < HeaderLen+2+TrailerLen || n > maxMember {
		return 0, false
	}
	return n, true
}
