package rules

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

func layerCompression() Rule {
	return Rule{
		ID:       "LL013",
		Name:     "compression",
		Severity: Info,
		Summary:  "A layer is stored uncompressed, or (when estimated) zstd would make a gzip layer markedly smaller.",
		Doc: "Registries store and serve layer blobs as they were pushed: an uncompressed layer " +
			"costs its full tar size in every pull and on every registry, often three times what " +
			"gzip would. Push with compression, e.g. `skopeo copy --dest-compress-format gzip` or " +
			"BuildKit's `--output type=image,compression=gzip`. Docker archives (`docker save`) " +
			"hold uncompressed layers by design and are not reported: `docker push` compresses " +
			"them. With the compression estimate turned on (a second read of every gzip layer, " +
			"which it compresses with zstd at the default level), a gzip layer that zstd would " +
			"make at least 10% smaller (an option), and by at least 64 KiB, is reported too: zstd also decompresses several " +
			"times faster, so containers start sooner. Push with " +
			"`--output type=image,compression=zstd,force-compression=true` or `skopeo copy " +
			"--dest-compress-format zstd` once every runtime that pulls the image reads zstd " +
			"(containerd 1.5, Docker 23, Podman 3 and later).",
		Check: checkCompression,
		Saves: true,
		Options: []RuleOption{{
			Name: "estimate", Type: OptionBool, Default: "false",
			Doc: "re-read every gzip layer to estimate what zstd would save (the --estimate-compression flag)",
			Apply: func(o *Options, v OptionValue) error {
				o.EstimateCompression = v.Bool
				return nil
			},
		}, {
			Name: "minSaving", Type: OptionRatio, Default: "10%",
			Doc: "the share of a gzip layer that zstd must save to be reported",
			Apply: func(o *Options, v OptionValue) error {
				if v.Ratio <= 0 || v.Ratio >= 1 {
					return errWantRatio
				}
				o.ZstdMinSaving = v.Ratio
				return nil
			},
		}},
	}
}

// zstdMinSavedBytes is the smallest saving LL013 reports, whatever the
// ratio: a few kilobytes are not worth changing the compression for.
const zstdMinSavedBytes = 64 << 10

// ZstdEstimate is what zstd would make of one gzip layer.
type ZstdEstimate struct {
	Layer int
	// GzipBytes is the blob as stored; ZstdBytes its uncompressed tar
	// compressed by zstd at the default level.
	GzipBytes, ZstdBytes int64
}

func checkCompression(f *Facts) []Finding {
	var out []Finding
	if f.Report != nil && (f.Image == nil || f.Image.Format != source.FormatDockerArchive) {
		for _, l := range f.Report.Layers {
			size, uncompressed := l.TarSize, f.compression(l.Index) == source.CompressionNone
			if !l.Analyzed {
				// Only the media type tells; a layer blob is its tar.
				c, _, _ := source.ClassifyLayerMediaType(types.MediaType(l.MediaType))
				size, uncompressed = l.CompressedSize, c == source.CompressionNone
			}
			if !uncompressed || size == 0 {
				continue
			}
			out = append(out, Finding{
				Rule:      "LL013",
				Severity:  Info,
				Message:   fmt.Sprintf("layer %d is stored uncompressed: every pull downloads its %d-byte tar as is", l.Index, size),
				Layer:     l.Index,
				Bytes:     size,
				CreatedBy: l.CreatedBy,
				Fix:       "push the image with gzip or zstd compression (skopeo copy --dest-compress-format, or BuildKit's compression= output option)",
			})
		}
	}
	for _, e := range f.Zstd {
		saved := e.GzipBytes - e.ZstdBytes
		if e.GzipBytes <= 0 || saved < zstdMinSavedBytes || float64(saved) < f.Options.ZstdMinSaving*float64(e.GzipBytes) {
			continue
		}
		out = append(out, Finding{
			Rule:     "LL013",
			Severity: Info,
			Message: fmt.Sprintf("layer %d is %d bytes with gzip and would be %d bytes with zstd at its default level, %d%% smaller",
				e.Layer, e.GzipBytes, e.ZstdBytes, saved*100/e.GzipBytes),
			Layer:     e.Layer,
			Bytes:     saved,
			CreatedBy: f.createdBy(e.Layer),
			Fix:       "push the image with zstd compression once every runtime that pulls it reads zstd",
		})
	}
	return sorted(out)
}

// EstimateCompression runs EstimateZstd on every analyzed gzip layer of a,
// bottom first. It reads those layers a second time and compresses them, so
// it is opt-in (Options.EstimateCompression, through Gather).
func EstimateCompression(ctx context.Context, a *analyze.Analysis) ([]ZstdEstimate, error) {
	out := []ZstdEstimate{}
	if a.Report == nil || a.Image == nil {
		return out, nil
	}
	for _, l := range a.Report.Layers {
		if !l.Analyzed || l.Index >= len(a.Stats) || a.Stats[l.Index].Compression != source.CompressionGzip {
			continue
		}
		g, z, err := EstimateZstd(ctx, a.Image, l.Index)
		if err != nil {
			return nil, err
		}
		out = append(out, ZstdEstimate{Layer: l.Index, GzipBytes: g, ZstdBytes: z})
	}
	return out, nil
}

// EstimateZstd re-reads one layer blob (a second read: the analysis does
// not keep layer bytes) and compresses its uncompressed tar with zstd at
// the default level. It returns the blob's size as stored (gzipBytes, for a
// gzip layer) and the size zstd makes of it. The blob is not verified
// again: the analysis did that, and the result is only an estimate.
func EstimateZstd(ctx context.Context, img *source.Image, layer int) (gzipBytes, zstdBytes int64, err error) {
	if layer < 0 || layer >= len(img.Layers) {
		return 0, 0, fmt.Errorf("estimating zstd of layer %d: the image has %d layers: %w", layer, len(img.Layers), analyze.ErrLayerRange)
	}
	l := img.Layers[layer]
	s, err := l.Open(false)
	if err != nil {
		return 0, 0, fmt.Errorf("estimating zstd of layer %d (%s): %w", layer, l.Digest, err)
	}
	defer s.Close() //nolint:errcheck // read-only stream; errors surface through Read
	var cw countingWriter
	enc, err := zstd.NewWriter(&cw, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return 0, 0, fmt.Errorf("estimating zstd of layer %d (%s): %w", layer, l.Digest, err)
	}
	if _, err := io.Copy(enc, ctxReader{ctx, s}); err != nil {
		_ = enc.Close() // the copy error says what went wrong
		return 0, 0, fmt.Errorf("estimating zstd of layer %d (%s): %w", layer, l.Digest, err)
	}
	if err := enc.Close(); err != nil {
		return 0, 0, fmt.Errorf("estimating zstd of layer %d (%s): %w", layer, l.Digest, err)
	}
	return s.Stats().Compressed, cw.n, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// ctxReader stops a long read when its context is done.
type ctxReader struct {
	ctx context.Context //nolint:containedctx // scoped to one copy
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
