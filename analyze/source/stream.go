package source

import (
	"bufio"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/layerlint/layerlint/internal/gzblock"
)

// sniff names the compression its first bytes reveal. Anything without a
// known magic is taken as a plain tar (which has no magic at offset 0); xz
// and bzip2, which docker load accepts, are refused rather than misread.
func sniff(b []byte) (Compression, error) {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return CompressionGzip, nil
	case len(b) >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		return CompressionZstd, nil
	case len(b) >= 4 && b[0]&0xf0 == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18:
		// A zstd skippable frame (zstd:chunked metadata may lead).
		return CompressionZstd, nil
	case len(b) >= 6 && string(b[:6]) == "\xfd7zXZ\x00":
		return 0, fmt.Errorf("xz compression: %w", ErrInvalid)
	case len(b) >= 3 && string(b[:3]) == "BZh":
		return 0, fmt.Errorf("bzip2 compression: %w", ErrInvalid)
	}
	return CompressionNone, nil
}

// gzipDecoders bounds the members of one gzip stream decoded at once. Each
// holds about 2 MiB (the member and its output), and analyze reads layers
// in parallel too, so the bound keeps memory flat on a many-core machine;
// four decoders outrun the SHA-256 of the diff_id that follows them.
const gzipDecoders = 4

// zstdMaxMemory bounds the zstd window a layer may demand (zstd --long=28
// needs 256 MiB); a hostile frame header cannot make us allocate more.
const zstdMaxMemory = 256 << 20

// Stats counts what a Stream read. The counts are final once Read returned
// io.EOF (or the digest error that replaces it).
type Stats struct {
	// Compressed is the number of blob bytes read, trailing bytes included.
	Compressed int64
	// Uncompressed is the size of the tar stream handed out.
	Uncompressed int64
	// Compression is what the magic bytes revealed, which is what was used.
	Compression Compression
	// Declared is what the media type implies; it differs from
	// Compression when the media type is wrong.
	Declared Compression
	// Trailing counts bytes after the end of a gzip stream that were not
	// another gzip member (padding or garbage). They are hashed into the
	// blob digest but never decoded.
	Trailing int64
	// GzipMembers counts the gzip members decoded; GzipIndexed, those
	// found by the length their header names (layerlint's framing,
	// package gzblock) and decoded in parallel. Once the stream is read,
	// GzipIndexed == GzipMembers proves every named length right.
	GzipMembers, GzipIndexed int64
}

// MediaTypeMismatch reports whether the magic bytes contradicted the media
// type.
func (s Stats) MediaTypeMismatch() bool {
	return s.Declared != CompressionUnknown && s.Declared != s.Compression
}

// Stream is the uncompressed tar of a layer. It reads the blob exactly once:
// the blob bytes tee into the layer digest, the decoder's output into the
// diff_id. Read returns io.EOF only after both digests (and the blob size)
// checked out when verifying; otherwise it returns an error wrapping
// ErrDigestMismatch. Consumers that stop at the tar end-of-archive marker
// must drain the stream (io.Copy(io.Discard, s)) to have it verified.
//
// Reading, decompressing and hashing run on a goroutine of their own, a few
// chunks ahead of the consumer, so that a consumer that parses the tar and
// hashes its files works at the same time on another core: on an
// uncompressed layer each side is one SHA-256, on a gzip layer the decoder
// runs against the parse. The goroutine starts at the first Read and is
// gone after the last chunk, VerifyBlob or Close.
type Stream struct {
	layer  *Layer
	verify bool

	// The decoding side, used by the decoding goroutine while it runs (and
	// by VerifyBlob once it stopped).
	blob    io.ReadCloser
	counted countingReader
	buf     *bufio.Reader
	dec     io.Reader
	gz      *gzblock.Reader
	zstd    *zstd.Decoder
	diffH   hash.Hash
	// diffIsBlob: diffH is blobH, fed by the blob's reads only.
	diffIsBlob bool
	blobH      hash.Hash
	decStats   Stats
	// checked: both digests and the size were found right at the end.
	checked bool

	// The blob file's state when opened, for RememberVerified (fileOK
	// when the blob is a local file of a layout).
	fileState BlobFile
	fileOK    bool
	opened    time.Time

	// full carries decoded chunks to the consumer, free their buffers
	// back; both have room for every buffer (streamChunks at most), so
	// neither send blocks. quit
	// stops the decoding goroutine, which closes done when it returns.
	full       chan chunk
	free       chan []byte
	quit, done chan struct{}

	// The consumer side.
	started, stopped bool
	cur              chunk
	stats            Stats // as of the last chunk received
	err              error // sticky
}

var _ io.ReadCloser = (*Stream)(nil)

// countingReader counts and optionally hashes the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
	h hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil && n > 0 {
		c.h.Write(p[:n])
	}
	return n, err
}

// Open returns the uncompressed tar stream of the layer; see Stream.
func (l *Layer) Open(verify bool) (_ *Stream, err error) {
	if l.st == nil {
		return nil, fmt.Errorf("layer %d (%s): not from an opened Source: %w", l.Index, l.Digest, ErrInvalid)
	}
	if l.Missing {
		return nil, fmt.Errorf("layer %d (%s): %s: %w", l.Index, l.Digest, l.MissingReason, ErrNotFound)
	}
	blob, _, err := l.st.open(l.blob)
	if err != nil {
		return nil, fmt.Errorf("opening layer %d blob %s needed by %s: %w", l.Index, l.Digest, l.manifest, err)
	}
	s := &Stream{layer: l, verify: verify, blob: blob, opened: time.Now()}
	if verify {
		s.fileState, s.fileOK = l.blobFile(blob)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	s.counted.r = blob
	if verify {
		if s.blobH, err = v1.Hasher(l.Digest.Algorithm); err != nil {
			return nil, fmt.Errorf("layer %d digest %s: %w: %w", l.Index, l.Digest, ErrInvalid, err)
		}
		if _, err = v1.Hasher(l.DiffID.Algorithm); err != nil {
			return nil, fmt.Errorf("layer %d diff_id %s: %w: %w", l.Index, l.DiffID, ErrInvalid, err)
		}
		s.counted.h = s.blobH
	}
	s.buf = bufio.NewReaderSize(&s.counted, 64<<10)
	magic, err := s.buf.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading layer %d blob %s: %w", l.Index, l.Digest, err)
	}
	s.decStats.Declared, _, _ = ClassifyLayerMediaType(l.MediaType)
	if s.decStats.Compression, err = sniff(magic); err != nil {
		return nil, fmt.Errorf("layer %d blob %s: %w", l.Index, l.Digest, err)
	}
	switch s.decStats.Compression {
	case CompressionGzip:
		// Members that name their length (what layerlint writes) are
		// decoded on several cores; others one after another.
		gz, err := gzblock.NewReader(s.buf, min(runtime.GOMAXPROCS(0), gzipDecoders))
		if err != nil {
			return nil, fmt.Errorf("reading gzip header of layer %d blob %s: %w", l.Index, l.Digest, err)
		}
		s.gz, s.dec = gz, gz
	case CompressionZstd:
		zd, err := zstd.NewReader(s.buf,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(zstdMaxMemory))
		if err != nil {
			return nil, fmt.Errorf("opening zstd decoder for layer %d blob %s: %w", l.Index, l.Digest, err)
		}
		s.zstd, s.dec = zd, zd
	case CompressionNone:
		s.dec = s.buf
	case CompressionUnknown:
		return nil, fmt.Errorf("layer %d blob %s: compression not detected: %w", l.Index, l.Digest, ErrInvalid)
	}
	if verify {
		// An uncompressed blob is its own tar, byte for byte (the decoder
		// is the buffer, so nothing trails it): the blob's hash is the
		// diff_id's, and hashing the same bytes twice would be a third of
		// a docker archive's analysis.
		if s.decStats.Compression == CompressionNone && l.DiffID.Algorithm == l.Digest.Algorithm {
			s.diffH, s.diffIsBlob = s.blobH, true
		} else {
			s.diffH, _ = v1.Hasher(l.DiffID.Algorithm) // the algorithm was checked above
		}
	}
	s.stats = s.decStats
	return s, nil
}

// Read reads the uncompressed tar.
func (s *Stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !s.started {
		s.start()
	}
	for len(s.cur.data) == 0 {
		if s.cur.err != nil {
			s.err = s.cur.err
			return 0, s.err
		}
		if s.cur.buf != nil {
			s.free <- s.cur.buf
		}
		s.cur = <-s.full
		s.stats = s.cur.stats
	}
	n := copy(p, s.cur.data)
	s.cur.data = s.cur.data[n:]
	if len(s.cur.data) == 0 && s.cur.err != nil {
		s.err = s.cur.err
		return n, s.err
	}
	return n, nil
}

// decodeRead reads the uncompressed tar from the decoder, hashing it, and
// checks the digests at its end.
func (s *Stream) decodeRead(p []byte) (int, error) {
	n, err := s.dec.Read(p)
	if n > 0 {
		s.decStats.Uncompressed += int64(n)
		if s.diffH != nil && !s.diffIsBlob {
			s.diffH.Write(p[:n])
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		err = s.finish()
	default:
		err = fmt.Errorf("decompressing layer %d (%s, %s): %w", s.layer.Index, s.layer.Digest, s.decStats.Compression, err)
		if merr := s.verifyRest(); merr != nil {
			// A corrupt blob usually fails to decode before its digest is
			// known; say what is wrong with it first.
			err = fmt.Errorf("%w (%w)", merr, err)
		}
	}
	return n, err
}

// VerifyBlob reads the rest of the compressed blob, without decoding it,
// and reports a digest mismatch if the blob's bytes are not the ones its
// descriptor names; nil when they are, or when not verifying. A consumer
// that gives up on a stream (malformed tar, a cap reached) calls it to
// tell a corrupt blob from a badly built one, at the cost of reading the
// blob, never of decompressing it. The stream hands out nothing after it.
func (s *Stream) VerifyBlob() error {
	s.stop()
	return s.verifyRest()
}

// verifyRest is VerifyBlob on the decoding side.
func (s *Stream) verifyRest() error {
	if !s.verify {
		return nil
	}
	if _, err := io.Copy(io.Discard, s.buf); err != nil {
		return nil //nolint:nilerr // the decode error is reported instead
	}
	l := s.layer
	got := v1.Hash{Algorithm: l.Digest.Algorithm, Hex: fmt.Sprintf("%x", s.blobH.Sum(nil))}
	if sameHash(got, l.Digest) {
		return nil
	}
	return fmt.Errorf("layer %d: blob digest: expected %s, actual %s: %w", l.Index, l.Digest, got, ErrDigestMismatch)
}

// finish runs at the decoder's EOF: it drains what follows the compressed
// data into the blob digest, then checks size and digests.
func (s *Stream) finish() error {
	var rest io.Reader = s.buf
	if s.gz != nil {
		// What follows the last member may already be in the gzip
		// reader's hands.
		rest = s.gz.Rest()
	}
	trailing, err := io.Copy(io.Discard, rest)
	if err != nil {
		return fmt.Errorf("reading layer %d blob %s: %w", s.layer.Index, s.layer.Digest, err)
	}
	s.decStats.Trailing = trailing
	s.decStats.Compressed = s.counted.n
	if !s.verify {
		return io.EOF
	}
	l := s.layer
	if s.decStats.Compressed != l.Size {
		return fmt.Errorf("layer %d blob %s: size %d, descriptor says %d: %w",
			l.Index, l.Digest, s.decStats.Compressed, l.Size, ErrDigestMismatch)
	}
	got := v1.Hash{Algorithm: l.Digest.Algorithm, Hex: fmt.Sprintf("%x", s.blobH.Sum(nil))}
	if !sameHash(got, l.Digest) {
		return fmt.Errorf("layer %d: blob digest: expected %s, actual %s: %w", l.Index, l.Digest, got, ErrDigestMismatch)
	}
	got = v1.Hash{Algorithm: l.DiffID.Algorithm, Hex: fmt.Sprintf("%x", s.diffH.Sum(nil))}
	if !sameHash(got, l.DiffID) {
		return fmt.Errorf("layer %d (%s): diff_id: expected %s, actual %s: %w", l.Index, l.Digest, l.DiffID, got, ErrDigestMismatch)
	}
	s.checked = true
	return io.EOF
}

// Stats returns the counts as of the data handed out so far; they are
// final after EOF.
func (s *Stream) Stats() Stats { return s.stats }

// Close releases the decoder and the blob. It does not verify: a stream
// closed before EOF was not checked.
func (s *Stream) Close() error {
	var err error
	if s.blob != nil {
		// First, so that a decoding goroutine blocked on a slow blob (a
		// registry's response) fails at once instead of holding stop up.
		err = s.blob.Close()
		s.blob = nil
	}
	s.stop()
	if s.zstd != nil {
		s.zstd.Close()
		s.zstd = nil
	}
	if err != nil {
		return fmt.Errorf("closing layer %d blob %s: %w", s.layer.Index, s.layer.Digest, err)
	}
	return nil
}

// Declared returns the compression the layer's media type implies
// (CompressionUnknown when it implies none).
func (l *Layer) Declared() Compression {
	c, _, _ := ClassifyLayerMediaType(l.MediaType)
	return c
}

// VerifyBlob reads the layer's compressed blob once, without decoding it,
// and checks its size and digest against the descriptor. It is what a
// caller that already knows the layer's content (from a cache keyed by
// digest and diff_id) pays to know that the blob in the image is the one
// that content was read from.
func (l *Layer) VerifyBlob() error {
	return l.verifyBlob(nil, time.Now())
}

// verifyBlob is VerifyBlob with a memo (nil for none); start is when the
// check began (tests move it).
func (l *Layer) verifyBlob(m VerifiedBlobs, start time.Time) (err error) {
	if l.st == nil {
		return fmt.Errorf("layer %d (%s): not from an opened Source: %w", l.Index, l.Digest, ErrInvalid)
	}
	if l.Missing {
		return fmt.Errorf("layer %d (%s): %s: %w", l.Index, l.Digest, l.MissingReason, ErrNotFound)
	}
	h, err := v1.Hasher(l.Digest.Algorithm)
	if err != nil {
		return fmt.Errorf("layer %d digest %s: %w: %w", l.Index, l.Digest, ErrInvalid, err)
	}
	blob, _, err := l.st.open(l.blob)
	if err != nil {
		return fmt.Errorf("opening layer %d blob %s needed by %s: %w", l.Index, l.Digest, l.manifest, err)
	}
	defer func() {
		if cerr := blob.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var file BlobFile
	fileOK := false
	if m != nil {
		if file, fileOK = l.blobFile(blob); fileOK && file.Size == l.Size && m.Verified(file, l.Digest) {
			return nil
		}
	}
	// Read one byte past the descriptor's size: a longer blob is a
	// mismatch, and reading it all would let it cost without bound.
	n, err := io.CopyBuffer(h, io.LimitReader(blob, l.Size+1), make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("reading layer %d blob %s: %w", l.Index, l.Digest, err)
	}
	if n != l.Size {
		return fmt.Errorf("layer %d blob %s: size %d, descriptor says %d: %w", l.Index, l.Digest, n, l.Size, ErrDigestMismatch)
	}
	got := v1.Hash{Algorithm: l.Digest.Algorithm, Hex: fmt.Sprintf("%x", h.Sum(nil))}
	if !sameHash(got, l.Digest) {
		return fmt.Errorf("layer %d: blob digest: expected %s, actual %s: %w", l.Index, l.Digest, got, ErrDigestMismatch)
	}
	if fileOK {
		if now, ok := fileState(blob); ok && settled(file, now, start) {
			m.RememberVerified(file, l.Digest)
		}
	}
	return nil
}
