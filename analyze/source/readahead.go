package source

// This file is a stream's read-ahead: a goroutine decodes and hashes the
// layer a few chunks ahead of the tar parse, so that one layer keeps two
// cores busy.

import (
	"fmt"
	"io/fs"
)

// The pipeline's sizes: enough in flight that either side runs while the
// other works on a chunk, little enough that a layer being read holds only
// streamChunks × streamChunkSize bytes.
const (
	streamChunkSize = 256 << 10
	streamChunks    = 4
)

// chunk is one piece of the uncompressed tar, with the counts after it and
// the error that follows it (io.EOF after the last one).
type chunk struct {
	buf   []byte // the whole buffer, for free
	data  []byte // what is left to hand out of buf
	stats Stats
	err   error
}

// start starts the decoding goroutine.
func (s *Stream) start() {
	s.started = true
	s.full = make(chan chunk, streamChunks)
	s.free = make(chan []byte, streamChunks)
	s.quit, s.done = make(chan struct{}), make(chan struct{})
	go s.decode()
}

// stop stops the decoding goroutine and waits until it returned; the
// stream hands out nothing after it.
func (s *Stream) stop() {
	if !s.started || s.stopped {
		return
	}
	s.stopped = true
	close(s.quit)
	<-s.done
	if s.err == nil {
		s.err = fmt.Errorf("layer %d (%s): stream stopped: %w", s.layer.Index, s.layer.Digest, fs.ErrClosed)
	}
}

// decode is the decoding goroutine: it fills free buffers until the
// stream ends or fails, or quit.
func (s *Stream) decode() {
	defer close(s.done)
	// Buffers are made as needed, so that a small layer takes one.
	made := 0
	for {
		var b []byte
		select {
		case b = <-s.free:
		case <-s.quit:
			return
		default:
			if made < streamChunks {
				b = make([]byte, streamChunkSize)
				made++
			} else {
				select {
				case b = <-s.free:
				case <-s.quit:
					return
				}
			}
		}
		n, err := s.fill(b)
		st := s.decStats
		st.Compressed = s.counted.n
		if s.gz != nil {
			st.GzipMembers, st.GzipIndexed = s.gz.Members()
		}
		s.full <- chunk{buf: b, data: b[:n], stats: st, err: err}
		if err != nil {
			return
		}
	}
}

// fill decodes into b until it is full or the stream ends or fails.
func (s *Stream) fill(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := s.decodeRead(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
