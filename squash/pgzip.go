package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"

	"github.com/klauspost/compress/flate"

	"github.com/layerlint/layerlint/internal/gzblock"
)

// parallelGzip writes gzip members compressed on several cores, one per
// gzblock.BlockSize of input, each naming its own length (package
// gzblock): every gzip reader reads them as one stream, and layerlint's
// reader decodes them in parallel, so verifying a big layer costs a
// fraction of one core's serial decode. Block boundaries are fixed, never
// derived from the machine, and headers carry no name and no time, so the
// output depends only on the input and the level. Members share no
// dictionary (a member is a stream of its own): on the bench image that
// costs 0.2 % of the output, see docs/performance.md.
type parallelGzip struct {
	w       io.Writer
	level   int
	workers int
	pool    *compressPool

	buf     []byte // the block being filled
	written bool   // a member was started: an empty input still gets one
	err     error

	// jobs in flight, in input order; each result arrives on its own
	// channel so that output keeps that order.
	pending []chan gzipBlock
}

type gzipBlock struct {
	out []byte
	err error
}

// newParallelGzip returns a writer whose blocks are compressed by the
// workers of pool, shared with every other compressor of the same fix; nil
// is a pool of its own, GOMAXPROCS wide.
func newParallelGzip(w io.Writer, level int, pool *compressPool) (*parallelGzip, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, fmt.Errorf("gzip level %d: want %d to %d", level, flate.HuffmanOnly, flate.BestCompression)
	}
	if pool == nil {
		pool = newCompressPool(0)
	}
	return &parallelGzip{w: w, level: level, workers: pool.size(), pool: pool, buf: make([]byte, 0, gzblock.BlockSize)}, nil
}

// compressPool bounds the deflate jobs that run at once across a whole
// fix: layers are written in parallel, and each gzip writer splits its
// layer into blocks, so without one bound GOMAXPROCS layers would each run
// GOMAXPROCS compressors. A job takes a token before it starts and gives
// it back when its block is done; jobs wait on nothing else, so a writer
// waiting for its oldest block always sees it finish.
type compressPool struct{ tokens chan struct{} }

// newCompressPool returns a pool of n workers; n <= 0 is GOMAXPROCS.
func newCompressPool(n int) *compressPool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &compressPool{tokens: make(chan struct{}, max(1, n))}
}

func (p *compressPool) size() int { return cap(p.tokens) }

// run starts job on a worker of the pool, waiting for one to be free.
func (p *compressPool) run(job func()) {
	p.tokens <- struct{}{}
	go func() {
		defer func() { <-p.tokens }()
		job()
	}()
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), gzblock.BlockSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == gzblock.BlockSize {
			if err := z.submit(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// submit starts compressing the current block into a member and, when
// enough jobs are in flight (all of them when final), writes out the
// oldest.
func (z *parallelGzip) submit(final bool) error {
	if len(z.buf) > 0 || !z.written {
		block := z.buf
		z.buf = make([]byte, 0, gzblock.BlockSize)
		z.written = true
		ch := make(chan gzipBlock, 1)
		z.pending = append(z.pending, ch)
		z.pool.run(func() { ch <- gzipMember(block, z.level) })
	}
	for len(z.pending) > z.workers || final && len(z.pending) > 0 {
		if err := z.drainOne(); err != nil {
			return err
		}
	}
	return nil
}

func (z *parallelGzip) drainOne() error {
	r := <-z.pending[0]
	z.pending = z.pending[1:]
	if r.err != nil {
		z.err = r.err
		return r.err
	}
	if _, err := z.w.Write(r.out); err != nil {
		z.err = err
		return err
	}
	return nil
}

// Close compresses what is left and writes every member out.
func (z *parallelGzip) Close() error {
	if z.err != nil {
		return z.err
	}
	if err := z.submit(true); err != nil {
		return err
	}
	z.err = errors.New("gzip writer closed")
	return nil
}

// gzipMember compresses one block into a whole gzip member: header
// (naming the member's length), deflate stream, CRC-32 and size.
func gzipMember(block []byte, level int) gzipBlock {
	var out bytes.Buffer
	out.Grow(len(block)/2 + gzblock.HeaderLen + gzblock.TrailerLen)
	out.Write(make([]byte, gzblock.HeaderLen)) // the length is known at the end
	fw, err := flate.NewWriter(&out, level)
	if err != nil {
		return gzipBlock{err: err}
	}
	if _, err := fw.Write(block); err != nil {
		return gzipBlock{err: err}
	}
	if err := fw.Close(); err != nil {
		return gzipBlock{err: err}
	}
	var trailer [gzblock.TrailerLen]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.ChecksumIEEE(block))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(block))) //nolint:gosec // a block is at most gzblock.BlockSize
	out.Write(trailer[:])
	b := out.Bytes()
	gzblock.AppendHeader(b[:0], uint32(len(b))) //nolint:gosec // a member is about a block long
	return gzipBlock{out: b}
}
