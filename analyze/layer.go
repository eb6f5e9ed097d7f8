package analyze

// This file reads one layer: from the cache when it may, else by decoding
// its blob once (decompress, digest checks, tar parse, content hooks).

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// readLayer returns one layer's changeset, telling Progress how it went.
func readLayer(ctx context.Context, l *source.Layer, opts Options) layerResult {
	r := readLayerStream(ctx, l, opts)
	if opts.Progress != nil {
		p := LayerProgress{Layer: l.Index, Size: l.Size, Done: true, Err: r.err}
		if r.cs != nil {
			p.Read = r.stats.Compressed
		}
		opts.Progress(p)
	}
	return r
}

// readLayerStream returns one layer's changeset: from the cache when it
// holds the layer (and no hook needs the content), else by reading the
// blob, after which the cache gets it.
func readLayerStream(ctx context.Context, l *source.Layer, opts Options) layerResult {
	if l.Missing {
		return layerResult{}
	}
	if err := ctx.Err(); err != nil {
		return layerResult{err: err}
	}
	if opts.Cache == nil {
		return decodeLayer(l, opts)
	}
	if r, ok := fromCache(ctx, l, opts); ok {
		return r
	}
	if lk, ok := opts.Cache.(LayerLocker); ok && opts.Inspect == nil {
		// Another process may be decoding this layer: the lock waits for
		// it, and its entry is then read here instead of decoding again.
		release, locked := lk.Lock(ctx, l)
		defer release()
		if locked {
			if r, ok := fromCache(ctx, l, opts); ok {
				return r
			}
		}
	}
	r := decodeLayer(l, opts)
	if r.err == nil {
		e := &CachedLayer{Verified: opts.Verify, Stats: r.stats, Changeset: r.cs}
		if opts.Scan != nil {
			e.ScanID, e.Scan = opts.Scan.ScanID(), opts.Scan.SaveLayer(l.Index)
		}
		opts.Cache.Put(ctx, l, e)
	}
	return r
}

// fromCache serves l from the cache when it may: not when a hook must see
// the content, not when the run scans content and the entry lacks that
// scan's results, and not when the entry would pass a cap of this run (the
// decode then fails with the cap's own message). With Verify, the blob's
// bytes are still hashed (never decompressed), so that a cached layer
// proves the blob in this image is the one the entry was read from.
func fromCache(ctx context.Context, l *source.Layer, opts Options) (layerResult, bool) {
	if opts.Inspect != nil {
		return layerResult{}, false
	}
	e, ok := opts.Cache.Get(ctx, l, opts.Verify)
	if !ok {
		return layerResult{}, false
	}
	cs, st := e.Changeset, e.Stats
	if cs.Len() > opts.MaxLayerEntries || cs.ContentBytes > opts.MaxLayerBytes {
		return layerResult{}, false
	}
	if opts.Scan != nil && e.ScanID != opts.Scan.ScanID() {
		return layerResult{}, false
	}
	ro := overlay.ReadOptions{MaxPathBytes: opts.MaxPathBytes, MaxPathDepth: opts.MaxPathDepth}
	for _, e := range cs.All() {
		if ro.CheckPath(e.Path) != nil || e.Kind == overlay.EntryHardlink && ro.CheckPath(e.Linkname) != nil {
			return layerResult{}, false
		}
	}
	if opts.Verify {
		// A cache that keeps a memo of verified blob files spares the hash
		// of a local blob file unchanged since it was last verified.
		memo, _ := opts.Cache.(source.VerifiedBlobs)
		if err := l.VerifyBlobMemo(memo); err != nil {
			return layerResult{err: fmt.Errorf("layer %d (%s): %w", l.Index, l.Digest, err)}, true
		}
	}
	if opts.Scan != nil && opts.Scan.LoadLayer(l.Index, cs, e.Scan) != nil {
		return layerResult{}, false
	}
	st.Declared = l.Declared()
	return layerResult{cs: cs, stats: st}, true
}

// decodeLayer streams one layer blob: decompress, check digests, parse.
func decodeLayer(l *source.Layer, opts Options) layerResult {
	s, err := l.Open(opts.Verify)
	if err != nil {
		return layerResult{err: fmt.Errorf("layer %d (%s): %w", l.Index, l.Digest, err)}
	}
	defer s.Close() //nolint:errcheck // read-only stream; errors surface through Read
	ro := overlay.ReadOptions{
		MaxEntries: opts.MaxLayerEntries, MaxContentBytes: opts.MaxLayerBytes,
		MaxPathBytes: opts.MaxPathBytes, MaxPathDepth: opts.MaxPathDepth,
	}
	if hook := inspectHook(l.Index, opts); hook != nil {
		ro.Inspect = func(e *overlay.Entry, hdr *tar.Header) io.Writer { return hook(e.Path, hdr) }
	}
	var tr io.Reader = s
	if opts.Progress != nil {
		opts.Progress(LayerProgress{Layer: l.Index, Size: l.Size})
		tr = &progressReader{s: s, report: func(n int64) {
			opts.Progress(LayerProgress{Layer: l.Index, Size: l.Size, Read: n})
		}}
	}
	cs, err := overlay.ReadChangeset(tr, ro)
	if err == nil {
		// Read past the tar's end marker to the end of the blob, so that
		// the digests cover every byte (and trailing data is noticed). A
		// bomb may hide there, so this is capped too.
		err = drain(tr, opts.MaxLayerBytes)
	}
	if err != nil && opts.Verify && !errors.Is(err, source.ErrDigestMismatch) {
		// A corrupt blob often shows first as a malformed tar: check the
		// compressed bytes (never decompressing further, so a bomb stays
		// capped) so the error says what is really wrong.
		if derr := s.VerifyBlob(); derr != nil {
			err = fmt.Errorf("%w (%w)", derr, err)
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, overlay.ErrTooLarge):
			err = &CapError{Limit: LimitLayerBytes, Err: fmt.Errorf("%w: %w", ErrCapExceeded, err)}
		case errors.Is(err, overlay.ErrTooManyEntries):
			err = &CapError{Limit: LimitLayerEntries, Err: fmt.Errorf("%w: %w", ErrCapExceeded, err)}
		case errors.Is(err, overlay.ErrLongPath):
			err = &CapError{Limit: LimitPath, Err: fmt.Errorf("%w: %w", ErrCapExceeded, err)}
		}
		return layerResult{err: fmt.Errorf("layer %d (%s): %w", l.Index, l.Digest, err)}
	}
	if memo, ok := opts.Cache.(source.VerifiedBlobs); ok {
		s.RememberVerified(memo)
	}
	if opts.OnDecode != nil {
		opts.OnDecode(l)
	}
	return layerResult{cs: cs, stats: s.Stats(), decoded: true}
}

// inspectHook returns the hook of Options.Inspect and Options.Scan for one
// layer, both when both are set; nil when neither is.
func inspectHook(layer int, opts Options) func(path string, hdr *tar.Header) io.Writer {
	var hooks []func(string, *tar.Header) io.Writer
	if opts.Inspect != nil {
		hooks = append(hooks, opts.Inspect(layer))
	}
	if opts.Scan != nil {
		hooks = append(hooks, opts.Scan.Inspect(layer))
	}
	hooks = slices.DeleteFunc(hooks, func(h func(string, *tar.Header) io.Writer) bool { return h == nil })
	switch len(hooks) {
	case 0:
		return nil
	case 1:
		return hooks[0]
	}
	return func(path string, hdr *tar.Header) io.Writer {
		var ws []io.Writer
		for _, h := range hooks {
			if w := h(path, hdr); w != nil {
				ws = append(ws, w)
			}
		}
		switch len(ws) {
		case 0:
			return nil
		case 1:
			return ws[0]
		}
		return io.MultiWriter(ws...)
	}
}

// progressReader reports the blob bytes a stream has read, every
// ProgressStep of them.
type progressReader struct {
	s      *source.Stream
	last   int64
	report func(read int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.s.Read(b)
	if c := p.s.Stats().Compressed; c-p.last >= ProgressStep {
		p.last = c
		p.report(c)
	}
	return n, err
}

// drain reads what follows the tar's end marker, failing with a wrapped
// ErrCapExceeded past limit bytes: a stream that goes on after the tar
// ends would otherwise be decompressed without bound.
func drain(r io.Reader, limit int64) error {
	n, err := io.CopyN(io.Discard, r, limit+1)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	case n > limit:
		return &CapError{Limit: LimitLayerBytes, Err: fmt.Errorf("%w: more than %d bytes after the end of the tar", ErrCapExceeded, limit)}
	}
	return nil
}
