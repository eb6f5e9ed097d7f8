package squash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/layerlint/layerlint/analyze/source"
)

// Compression of a layer written: the one enum of package source.
type Compression = source.Compression

// Compressions. CompressionSource, the zero value, keeps what the source
// used (gzip where the source was uncompressed: layerlint never writes an
// uncompressed layer unless asked).
const (
	CompressionSource = source.CompressionUnknown
	CompressionNone   = source.CompressionNone
	CompressionGzip   = source.CompressionGzip
	CompressionZstd   = source.CompressionZstd
)

// ParseCompression reads gzip, zstd, none, or "" or "source" (the
// source's).
func ParseCompression(s string) (Compression, error) {
	if s == "" || s == "source" {
		return CompressionSource, nil
	}
	if c, ok := source.ParseCompression(s); ok {
		return c, nil
	}
	return 0, fmt.Errorf("compression %q: want gzip, zstd or none: %w", s, ErrBadPlan)
}

// compressionOf reads a layer media type; what implies none (an unknown
// media type) counts as uncompressed.
func compressionOf(mt types.MediaType) Compression {
	if c, _, _ := source.ClassifyLayerMediaType(mt); c != source.CompressionUnknown {
		return c
	}
	return CompressionNone
}

// family is the media-type family of an image: a Docker image keeps Docker
// media types, an OCI image OCI ones.
type family uint8

// Families.
const (
	familyOCI family = iota
	familyDocker
)

func familyOf(manifest types.MediaType) family {
	if manifest == types.DockerManifestSchema2 {
		return familyDocker
	}
	return familyOCI
}

// layerMediaType is the media type of a layer of the family.
func layerMediaType(f family, c Compression) (types.MediaType, error) {
	if mt, ok := source.LayerMediaType(c, f == familyDocker); ok {
		return mt, nil
	}
	if f == familyDocker && c != CompressionSource {
		return "", fmt.Errorf("%s layers in a Docker image: Docker media types have no such layer type (convert to OCI first): %w", c, ErrBadPlan)
	}
	return "", fmt.Errorf("no media type for %s: %w", c, ErrBadPlan)
}

// zstdConcurrency is fixed so that the encoder's setup, and so its output,
// never depends on the machine.
const zstdConcurrency = 4

// encoder opens a compressor writing to w. Output is deterministic for a
// codec and level: no name or time in gzip headers, fixed gzip block size,
// fixed zstd settings.
func encoder(w io.Writer, c Compression, level int, pool *compressPool) (io.WriteCloser, error) {
	switch c {
	case CompressionGzip:
		if level == 0 {
			level = gzip.DefaultCompression
		}
		// Compressed on every core, in fixed-size blocks so the bytes do
		// not depend on how many there are (see parallelGzip).
		zw, err := newParallelGzip(w, level, pool)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrBadPlan)
		}
		return zw, nil
	case CompressionZstd:
		opts := []zstd.EOption{zstd.WithEncoderConcurrency(zstdConcurrency), zstd.WithEncoderCRC(true)}
		if level != 0 {
			opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
		}
		zw, err := zstd.NewWriter(w, opts...)
		if err != nil {
			return nil, fmt.Errorf("zstd level %d: %w: %w", level, err, ErrBadPlan)
		}
		return zw, nil
	case CompressionNone:
		return nopCloser{w}, nil
	case CompressionSource:
	}
	return nil, fmt.Errorf("no encoder for %s: %w", c, ErrBadPlan)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// digester counts and hashes what passes through it.
type digester struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newDigester(w io.Writer) *digester { return &digester{w: w, h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

func (d *digester) digest() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.h.Sum(nil))}
}

// pipeline is tar → diff_id → encoder → digest → blob.
type pipeline struct {
	blob *digester
	enc  io.WriteCloser
	tar  *digester
}

func newPipeline(w io.Writer, c Compression, level int, pool *compressPool) (*pipeline, error) {
	p := &pipeline{blob: newDigester(w)}
	enc, err := encoder(p.blob, c, level, pool)
	if err != nil {
		return nil, err
	}
	p.enc = enc
	p.tar = newDigester(enc)
	return p, nil
}

func (p *pipeline) Write(b []byte) (int, error) { return p.tar.Write(b) }

// finish flushes the encoder and returns the diff_id, tar size, digest
// and blob size.
func (p *pipeline) finish() (diffID v1.Hash, tarSize int64, digest v1.Hash, size int64, err error) {
	if err := p.enc.Close(); err != nil {
		return v1.Hash{}, 0, v1.Hash{}, 0, fmt.Errorf("finishing compression: %w", err)
	}
	return p.tar.digest(), p.tar.n, p.blob.digest(), p.blob.n, nil
}
