package gzblock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Reader decodes a stream of gzip members, in parallel where the members
// carry their length (see the package doc), serially where they do not.
// What it hands out is exactly what a serial reader of consecutive members
// hands out: it stops, without error, at the first bytes that are not a
// gzip header (padding or garbage after the stream, which the caller
// drains from Rest), and a member that fails to decode fails the stream.
type Reader struct {
	src   *bufio.Reader
	depth int

	queue   []*member // members read ahead, in stream order
	stopped bool      // src holds no more indexed members to read ahead
	cur     []byte    // what is left of the member being handed out
	curBuf  []byte    // its buffer, reused once handed out
	free    [][]byte  // output buffers to reuse
	comps   [][]byte  // member buffers to reuse
	readers []*gzip.Reader

	serial *serialReader // once the stream is read serially
	err    error         // sticky

	members, indexed int64
}

// member is one indexed member read ahead: its bytes, and once done is
// closed, its output or why it could not be decoded on its own.
type member struct {
	comp []byte
	out  []byte
	zr   *gzip.Reader
	err  error
	done chan struct{}
}

// errNotIndexed marks a member whose named length did not delimit it.
var errNotIndexed = errors.New("gzip member length does not match the member")

// NewReader returns a Reader of the members in src, which must start at a
// gzip header; workers members are decoded at once (at least 1).
func NewReader(src *bufio.Reader, workers int) (*Reader, error) {
	r := &Reader{src: src, depth: max(1, workers)}
	r.fill()
	if len(r.queue) == 0 {
		// The stream does not start with an indexed member: the first
		// header is read now, so that a bad one fails here.
		s, err := newSerialReader(src)
		if err != nil {
			return nil, err
		}
		r.serial = s
	}
	return r, nil
}

// Members is the number of gzip members decoded so far; Indexed, how many
// of them were found by the length their header names and decoded in
// parallel. Once Read returned io.EOF, Indexed == Members > 0 proves that
// every member's length was right.
func (r *Reader) Members() (members, indexed int64) {
	m, i := r.members, r.indexed
	if r.serial != nil {
		m += r.serial.members
	}
	return m, i
}

// Rest is what follows the last member once Read returned io.EOF: the
// bytes to drain (and count as trailing) to reach the end of the blob.
func (r *Reader) Rest() io.Reader {
	if r.serial != nil {
		return r.serial.buf
	}
	return r.src
}

// Read hands out the decoded bytes in stream order.
func (r *Reader) Read(p []byte) (int, error) {
	for {
		if len(r.cur) > 0 {
			n := copy(p, r.cur)
			r.cur = r.cur[n:]
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.curBuf != nil {
			r.free = append(r.free, r.curBuf)
			r.curBuf = nil
		}
		if r.serial != nil {
			return r.serial.Read(p)
		}
		if len(r.queue) == 0 {
			r.fill()
		}
		if len(r.queue) == 0 {
			// The next bytes are not an indexed member: another kind of
			// member (read serially from here on) or the end.
			r.serial = &serialReader{buf: r.src}
			continue
		}
		m := r.queue[0]
		<-m.done
		if m.zr != nil {
			r.readers = append(r.readers, m.zr)
		}
		if m.err != nil {
			r.replay()
			continue
		}
		r.queue = r.queue[1:]
		r.comps = append(r.comps, m.comp)
		r.members++
		r.indexed++
		r.cur, r.curBuf = m.out, m.out[:cap(m.out)]
		// Start the next members before handing this one out.
		r.fill()
	}
}

// replay reads serially from the first queued member on, as a serial
// reader would have: the member's named length was wrong, or it failed to
// decode on its own (then it fails the same way here, with the serial
// reader's error).
func (r *Reader) replay() {
	parts := make([]io.Reader, 0, len(r.queue)+1)
	for _, m := range r.queue {
		parts = append(parts, bytes.NewReader(m.comp))
	}
	parts = append(parts, r.src)
	r.queue = nil
	r.stopped = true
	r.serial = &serialReader{buf: bufio.NewReader(io.MultiReader(parts...))}
}

// fill reads indexed members ahead until depth of them are in flight.
func (r *Reader) fill() {
	for !r.stopped && len(r.queue) < r.depth {
		h, _ := r.src.Peek(HeaderLen)
		n, ok := memberLen(h)
		if !ok {
			r.stopped = true
			return
		}
		m := &member{comp: take(&r.comps, n), done: make(chan struct{})}
		k, err := io.ReadFull(r.src, m.comp)
		if err != nil {
			// A short blob: what was read is replayed serially, which
			// reports the truncation as any reader would.
			m.comp = m.comp[:k]
			m.err = err
			close(m.done)
			r.queue = append(r.queue, m)
			r.stopped = true
			return
		}
		m.zr = r.takeReader()
		// The trailer's ISIZE sizes the output; a member that lies about
		// it fails its own check, in any reader.
		size := min(int(binary.LittleEndian.Uint32(m.comp[n-4:])), BlockSize)
		// One byte more than the member should hold, to notice one that
		// holds more.
		go m.decode(take(&r.free, size+1))
		r.queue = append(r.queue, m)
	}
}

// take returns a buffer of n bytes, reusing the last of free if it is
// large enough.
func take(free *[][]byte, n int) []byte {
	if k := len(*free); k > 0 && cap((*free)[k-1]) >= n {
		b := (*free)[k-1]
		*free = (*free)[:k-1]
		return b[:n]
	}
	return make([]byte, n)
}

func (r *Reader) takeReader() *gzip.Reader {
	if n := len(r.readers); n > 0 {
		zr := r.readers[n-1]
		r.readers = r.readers[:n-1]
		return zr
	}
	return nil
}

// decode decodes the member on its own: it must end exactly where its
// named length ends, and hold at most BlockSize bytes.
func (m *member) decode(out []byte) {
	defer close(m.done)
	br := bytes.NewReader(m.comp)
	var err error
	if m.zr == nil {
		m.zr, err = gzip.NewReader(br)
	} else {
		err = m.zr.Reset(br)
	}
	if err != nil {
		m.err = err
		return
	}
	m.zr.Multistream(false)
	n := 0
	for {
		if n == len(out) {
			m.err = errNotIndexed
			return
		}
		k, err := m.zr.Read(out[n:])
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			m.err = err
			return
		}
	}
	if br.Len() != 0 {
		m.err = errNotIndexed
		return
	}
	m.out = out[:n]
}

// serialReader decodes consecutive gzip members one after another (estargz
// and pigz write many) and stops at the first bytes that are not a gzip
// header, so padding or garbage after the stream is never decoded as data,
// and is not an error of its own: it changes the blob digest, which
// verification checks.
type serialReader struct {
	buf     *bufio.Reader
	zr      *gzip.Reader
	inside  bool // zr is within a member
	done    bool
	err     error
	members int64
}

// newSerialReader reads the first header of buf now.
func newSerialReader(buf *bufio.Reader) (*serialReader, error) {
	s := &serialReader{buf: buf}
	if err := s.next(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *serialReader) Read(p []byte) (int, error) {
	for {
		switch {
		case s.err != nil:
			return 0, s.err
		case s.done:
			return 0, io.EOF
		case !s.inside:
			s.err = s.next()
			continue
		}
		n, err := s.zr.Read(p)
		if errors.Is(err, io.EOF) {
			s.members++
			s.inside = false
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			s.err = err
		}
		return n, err
	}
}

// next starts the member that follows if the next bytes are a gzip
// header, and otherwise ends the stream.
func (s *serialReader) next() error {
	magic, _ := s.buf.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		s.done = true
		return nil
	}
	var err error
	if s.zr == nil {
		s.zr, err = gzip.NewReader(s.buf)
	} else {
		err = s.zr.Reset(s.buf)
	}
	if err != nil {
		return err
	}
	s.zr.Multistream(false)
	s.inside = true
	return nil
}
