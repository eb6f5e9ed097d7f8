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
)

// gzipBlockSize is how much input each parallel deflate job takes. It is a
// constant, never derived from the machine, because block boundaries shape
// the output: with it fixed, the bytes do not depend on how many workers
// ran.
const gzipBlockSize = 1 << 20

// gzipDictSize is how much of the previous block primes each block's
// compressor (deflate's whole window), so that parallel compression loses
// almost nothing to a single stream.
const gzipDictSize = 32 << 10

// parallelGzip writes one gzip member whose deflate stream is compressed
// block by block on several cores. Each block is a deflate stream ended by
// a sync flush (the last one by a final block), primed with the end of the
// block before it; concatenated, they are one valid deflate stream. The
// header carries no name and no time, so the output depends only on the
// input and the level.
type parallelGzip struct {
	w       io.Writer
	level   int
	workers int
	pool    *compressPool

	buf     []byte // the block being filled
	prev    []byte // the tail of the block before it: the next dictionary
	crc     uint32
	size    uint32
	started bool
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
	return &parallelGzip{w: w, level: level, workers: pool.size(), pool: pool, buf: make([]byte, 0, gzipBlockSize)}, nil
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
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint32(len(p)) //nolint:gosec // ISIZE is the size modulo 2^32 (RFC 1952)
	for len(p) > 0 {
		k := min(len(p), gzipBlockSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == gzipBlockSize {
			if err := z.submit(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// submit starts compressing the current block and, when enough jobs are
// in flight, writes out the oldest.
func (z *parallelGzip) submit(final bool) error {
	if !z.started {
		// RFC 1952 header: magic, deflate, no flags, no mtime, no extra
		// flags, OS unknown.
		if _, err := z.w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}); err != nil {
			z.err = err
			return err
		}
		z.started = true
	}
	block, dict := z.buf, z.prev
	if len(block) >= gzipDictSize {
		z.prev = bytes.Clone(block[len(block)-gzipDictSize:])
	} else {
		z.prev = append(bytes.Clone(dict), block...)
		if len(z.prev) > gzipDictSize {
			z.prev = z.prev[len(z.prev)-gzipDictSize:]
		}
	}
	z.buf = make([]byte, 0, gzipBlockSize)
	ch := make(chan gzipBlock, 1)
	z.pending = append(z.pending, ch)
	z.pool.run(func() { ch <- deflateBlock(block, dict, z.level, final) })
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

// Close compresses what is left, ends the deflate stream and writes the
// trailer.
func (z *parallelGzip) Close() error {
	if z.err != nil {
		return z.err
	}
	if err := z.submit(true); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	if _, err := z.w.Write(trailer[:]); err != nil {
		z.err = err
		return err
	}
	z.err = errors.New("gzip writer closed")
	return nil
}

// deflateBlock compresses one block, primed with dict. A block that is not
// the last ends with a sync flush, so the next block's bits start on a byte
// boundary.
func deflateBlock(block, dict []byte, level int, final bool) gzipBlock {
	var out bytes.Buffer
	fw, err := flate.NewWriterDict(&out, level, dict)
	if err != nil {
		return gzipBlock{err: err}
	}
	if _, err := fw.Write(block); err != nil {
		return gzipBlock{err: err}
	}
	if final {
		err = fw.Close()
	} else {
		err = fw.Flush()
	}
	return gzipBlock{out: out.Bytes(), err: err}
}
