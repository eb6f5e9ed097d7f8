package squash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// writeMerged writes a rewritten layer.
func writeMerged(ctx context.Context, sink blobSink, pool *compressPool, lr *LayerResult, spec *layerSpec, layers []*source.Layer, c Compression, level int, topts tarOptions) error {
	what := fmt.Sprintf("writing layer %s", lr.Group)
	return writeLayerBlob(sink, pool, lr, c, level, what, func(p io.Writer) (err error) {
		lr.ContentBytes, err = writeTar(ctx, p, spec, layers, topts)
		return err
	}, func(diffID v1.Hash) error {
		lr.DiffID = diffID
		return nil
	})
}

// recompress re-encodes a kept layer; its diff_id does not change.
func recompress(ctx context.Context, sink blobSink, pool *compressPool, lr *LayerResult, l *source.Layer, c Compression, level int, verify bool) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := l.Open(verify)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	what := fmt.Sprintf("recompressing layer %d (%s)", l.Index, l.Digest)
	return writeLayerBlob(sink, pool, lr, c, level, what, func(p io.Writer) error {
		_, err := io.Copy(p, s)
		return err
	}, func(diffID v1.Hash) error {
		if diffID != l.DiffID {
			return fmt.Errorf("%s: diff_id %s, config says %s: %w", what, diffID, l.DiffID, source.ErrDigestMismatch)
		}
		return nil
	})
}

// writeLayerBlob writes a layer blob to sink: fill writes the layer's tar
// through the compression pipeline, lr gets the sizes and digest, accept
// gets the diff_id (and may refuse it), and the blob is committed under
// its digest or aborted. Errors of fill and of the pipeline are prefixed
// with what.
func writeLayerBlob(sink blobSink, pool *compressPool, lr *LayerResult, c Compression, level int, what string,
	fill func(io.Writer) error, accept func(diffID v1.Hash) error) (err error) {
	bw, err := sink.Create()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, bw.Abort())
		}
	}()
	p, err := newPipeline(bw, c, level, pool)
	if err != nil {
		return err
	}
	if err := fill(p); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var diffID v1.Hash
	if diffID, lr.TarSize, lr.Digest, lr.Size, err = p.finish(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := accept(diffID); err != nil {
		return err
	}
	return bw.Commit(lr.Digest)
}

// copyBlob copies a kept layer's blob as it is.
func copyBlob(sink blobSink, l *source.Layer, verify bool) (err error) {
	if l.Missing || sink.Has(l.Digest) {
		return nil
	}
	rc, err := l.OpenBlob(verify)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw, err := sink.Create()
	if err != nil {
		return err
	}
	if _, err := io.Copy(bw, rc); err != nil {
		return errors.Join(fmt.Errorf("copying layer %d (%s): %w", l.Index, l.Digest, err), bw.Abort())
	}
	return bw.Commit(l.Digest)
}

func putBlob(sink blobSink, b []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	if sink.Has(h) {
		return h, nil
	}
	bw, err := sink.Create()
	if err != nil {
		return v1.Hash{}, err
	}
	if _, err := bw.Write(b); err != nil {
		return v1.Hash{}, errors.Join(err, bw.Abort())
	}
	return h, bw.Commit(h)
}
