package analyze

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// measureWire measures the download cost of wasted files: it re-reads each
// layer that holds waste and compresses those files' bytes with the layer's
// codec. It is opt-in (--exact-wire) because it reads those layers twice.
func measureWire(ctx context.Context, a *Analysis, opts Options) error {
	type want struct {
		size int64
		hash overlay.Hash
	}
	byLayer := map[int]map[string][]want{}
	for _, w := range a.Model.Waste() {
		if byLayer[w.Layer] == nil {
			byLayer[w.Layer] = map[string][]want{}
		}
		byLayer[w.Layer][w.Path] = append(byLayer[w.Layer][w.Path], want{w.Size, w.Hash})
	}
	r := a.Report
	var total int64
	for i := range r.Layers {
		li := &r.Layers[i]
		if !li.Analyzed {
			continue
		}
		var n int64
		if paths := byLayer[i]; len(paths) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			n, err = wireBytes(a.Image.Layers[i], li.Compression, opts.Verify, func(p string, size int64, h overlay.Hash) bool {
				for _, w := range paths[p] {
					if w.size == size && w.hash == h {
						return true
					}
				}
				return false
			})
			if err != nil {
				return fmt.Errorf("layer %d (%s): measuring wasted wire bytes: %w", i, li.Digest, err)
			}
		}
		li.WastedWireBytesExact = &n
		total += n
	}
	r.Summary.WastedWireBytesExact = &total
	return nil
}

// wireBytes compresses, file by file, the regular files of layer l that
// wasted accepts, and returns the compressed total.
func wireBytes(l *source.Layer, codec string, verify bool, wasted func(string, int64, overlay.Hash) bool) (int64, error) {
	s, err := l.Open(verify)
	if err != nil {
		return 0, err
	}
	defer s.Close() //nolint:errcheck // read-only
	tr := tar.NewReader(s)
	var total int64
	buf := make([]byte, 64<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA { //nolint:staticcheck // old tools write TypeRegA
			continue
		}
		p, ok := overlay.CleanPath(hdr.Name)
		if !ok {
			continue
		}
		var cw countWriter
		enc, err := newEncoder(codec, &cw)
		if err != nil {
			return 0, err
		}
		h := sha256.New()
		n, err := io.CopyBuffer(io.MultiWriter(h, enc), struct{ io.Reader }{tr}, buf)
		if err != nil {
			return 0, err
		}
		if err := enc.Close(); err != nil {
			return 0, err
		}
		var sum overlay.Hash
		h.Sum(sum[:0])
		if wasted(p, n, sum) {
			total += cw.n
		}
	}
	_, err = io.Copy(io.Discard, s)
	return total, err
}

func newEncoder(codec string, w io.Writer) (io.WriteCloser, error) {
	switch codec {
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	case "gzip":
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}
	return nopCloser{w}, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
