package squash

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// tarOptions tune how a merged layer is written.
type tarOptions struct {
	// clamp, when set, caps every mtime written.
	clamp *int64
	// verify checks each source layer's digests as it streams.
	verify bool
	// want holds the real content hash of each origin (from the
	// analysis), checked again as the bytes are copied: the blob read now
	// must be the one analyzed.
	want func(origin overlay.Origin) (overlay.Hash, bool)
}

// writeTar writes the merged layer of spec to w and returns the content
// bytes it holds.
func writeTar(ctx context.Context, w io.Writer, spec *layerSpec, layers []*source.Layer, opts tarOptions) (content int64, err error) {
	tw := tar.NewWriter(w)
	for i := range spec.early {
		if err := tw.WriteHeader(header(&spec.early[i], opts.clamp)); err != nil {
			return 0, fmt.Errorf("writing hard link %s: %w", spec.early[i].Path, err)
		}
	}
	for i := range spec.meta {
		if err := tw.WriteHeader(header(&spec.meta[i], opts.clamp)); err != nil {
			return 0, fmt.Errorf("writing %s: %w", spec.meta[i].Path, err)
		}
	}
	next := 0
	for _, src := range spec.sources {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		end := next
		for end < len(spec.files) {
			if spec.files[end].Origin.Layer != src {
				break
			}
			end++
		}
		n, err := copyFiles(tw, layers[src], spec.files[next:end], opts)
		if err != nil {
			return 0, err
		}
		content += n
		next = end
	}
	for i := range spec.links {
		if err := tw.WriteHeader(header(&spec.links[i], opts.clamp)); err != nil {
			return 0, fmt.Errorf("writing hard link %s: %w", spec.links[i].Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("closing tar: %w", err)
	}
	return content, nil
}

// copyFiles streams one source layer once and copies the bytes of the
// wanted files (sorted by origin) into tw as they pass.
func copyFiles(tw *tar.Writer, l *source.Layer, files []outEntry, opts tarOptions) (n int64, err error) {
	s, err := l.Open(opts.verify)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var werr error // the first write error, which ReadChangeset would misname
	next := 0
	var got []int // Entry.Index of the entries copied
	ro := overlay.ReadOptions{Inspect: func(e *overlay.Entry, _ *tar.Header) io.Writer {
		if werr != nil || next >= len(files) || files[next].Origin.Entry != e.Index {
			return nil
		}
		f := &files[next]
		next++
		if err := tw.WriteHeader(header(f, opts.clamp)); err != nil {
			werr = fmt.Errorf("writing %s: %w", f.Path, err)
			return failWriter{werr}
		}
		got = append(got, e.Index)
		n += f.File.Size
		return &recordWriter{w: tw, err: &werr, path: f.Path}
	}}
	cs, err := overlay.ReadChangeset(s, ro)
	if werr != nil {
		return 0, werr
	}
	if err != nil {
		return 0, fmt.Errorf("layer %d (%s): %w", l.Index, l.Digest, err)
	}
	if _, err := io.Copy(io.Discard, s); err != nil { // to EOF, where digests are checked
		return 0, err
	}
	if next != len(files) {
		return 0, fmt.Errorf("layer %d (%s): entry for %s not found on a second read: the blob changed", l.Index, l.Digest, files[next].Path)
	}
	if opts.want != nil {
		byIndex := make(map[int]overlay.Entry, len(got))
		for _, e := range cs.All() {
			if e.Kind == overlay.EntryFile {
				byIndex[e.Index] = e
			}
		}
		for _, idx := range got {
			want, ok := opts.want(overlay.Origin{Layer: l.Index, Entry: idx})
			if e, found := byIndex[idx]; !ok || !found || e.Hash != want {
				return 0, fmt.Errorf("layer %d (%s): %s has different content on a second read: the blob changed", l.Index, l.Digest, e.Path)
			}
		}
	}
	return n, nil
}

// recordWriter keeps the first error of writing the output (a full disk),
// which ReadChangeset would otherwise report as a fault of the source
// layer it was reading.
type recordWriter struct {
	w    io.Writer
	err  *error
	path string
}

func (r *recordWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && *r.err == nil {
		*r.err = fmt.Errorf("writing %s: %w", r.path, err)
	}
	return n, err
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// header builds the tar header of an entry from the view's attributes:
// numeric owners only (no uname/gname), no atime/ctime, mtimes in whole
// seconds (the model's precision), xattrs as PAX SCHILY.xattr records.
// The same entry always gives the same bytes.
func header(e *outEntry, clamp *int64) *tar.Header {
	f := &e.File
	mtime := f.ModTime
	if clamp != nil && mtime > *clamp {
		mtime = *clamp
	}
	h := &tar.Header{
		Name: e.Path, Mode: int64(f.Mode), Uid: f.UID, Gid: f.GID,
		ModTime: time.Unix(mtime, 0),
	}
	switch e.Kind {
	case overlay.EntryFile:
		h.Typeflag, h.Size = tar.TypeReg, f.Size
	case overlay.EntryDir:
		h.Typeflag, h.Name = tar.TypeDir, e.Path+"/"
	case overlay.EntrySymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, f.Linkname
	case overlay.EntryHardlink:
		h.Typeflag, h.Linkname = tar.TypeLink, e.Link
	case overlay.EntryCharDevice:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(f.Devmajor), int64(f.Devminor)
	case overlay.EntryBlockDevice:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeBlock, int64(f.Devmajor), int64(f.Devminor)
	case overlay.EntryFIFO:
		h.Typeflag = tar.TypeFifo
	case overlay.EntryWhiteout:
		dir, name := splitPath(e.Path)
		return &tar.Header{Typeflag: tar.TypeReg, Name: join(dir, overlay.WhiteoutPrefix+name), ModTime: time.Unix(0, 0)}
	case overlay.EntryOpaque:
		return &tar.Header{Typeflag: tar.TypeReg, Name: join(e.Path, overlay.OpaqueMarker), ModTime: time.Unix(0, 0)}
	}
	if len(f.Xattrs) > 0 {
		h.PAXRecords = make(map[string]string, len(f.Xattrs))
		for k, v := range f.Xattrs {
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		h.Format = tar.FormatPAX
	}
	return h
}
