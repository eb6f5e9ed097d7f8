package squash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// layoutSink writes blobs into an OCI layout directory: each to a temp
// file in blobs/sha256, fsynced, renamed to its digest, then the directory
// fsynced, so that a blob name never holds partial content and a blob is
// durable before anything that names it is written.
type layoutSink struct {
	fs  fsys
	dir string
	// mu guards created and temps: layers are written in parallel.
	mu sync.Mutex
	// created lists the blobs this sink added (not those already there),
	// so that a failed in-place run can take them back.
	created []v1.Hash
	// temps are the temp files not yet renamed or removed.
	temps map[string]bool
}

// newLayoutSink prepares dir/blobs/sha256.
func newLayoutSink(fsys fsys, dir string) (*layoutSink, error) {
	if err := fsys.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	return &layoutSink{fs: fsys, dir: dir, temps: map[string]bool{}}, nil
}

func (s *layoutSink) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

func (s *layoutSink) blobPath(h v1.Hash) string {
	return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex)
}

// Has reports whether the layout holds the blob.
func (s *layoutSink) Has(h v1.Hash) bool {
	fi, err := os.Lstat(s.blobPath(h))
	return err == nil && fi.Mode().IsRegular()
}

// Create starts a blob in a temp file next to its final place.
func (s *layoutSink) Create() (blobWriter, error) {
	f, err := s.fs.CreateTemp(s.blobDir(), tempPrefix+"*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating blob in %s: %w", s.dir, err)
	}
	s.mu.Lock()
	s.temps[f.Name()] = true
	s.mu.Unlock()
	return &layoutBlob{s: s, f: f}, nil
}

// removeTemp removes a temp file; one that cannot be removed now stays
// listed for Remove.
func (b *layoutBlob) removeTemp() error {
	if err := b.s.fs.Remove(b.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b.s.mu.Lock()
	delete(b.s.temps, b.f.Name())
	b.s.mu.Unlock()
	return nil
}

// Remove deletes the blobs this sink created and the temp files left.
func (s *layoutSink) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, h := range s.created {
		if err := s.fs.Remove(s.blobPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for name := range s.temps {
		if err := s.fs.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.created, s.temps = nil, map[string]bool{}
	return errors.Join(errs...)
}

type layoutBlob struct {
	s      *layoutSink
	f      file
	closed bool
}

func (b *layoutBlob) Write(p []byte) (int, error) { return b.f.Write(p) }

func (b *layoutBlob) Commit(h v1.Hash) error {
	if err := b.f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing blob %s: %w", h, err), b.Abort())
	}
	b.closed = true
	if err := b.f.Close(); err != nil {
		return errors.Join(fmt.Errorf("closing blob %s: %w", h, err), b.removeTemp())
	}
	// Under the lock, so that two writers of one digest (a layer kept
	// twice) agree on which of them created it.
	b.s.mu.Lock()
	if b.s.Has(h) {
		b.s.mu.Unlock()
		return b.removeTemp() // same digest, same bytes
	}
	if err := b.s.fs.Rename(b.f.Name(), b.s.blobPath(h)); err != nil {
		b.s.mu.Unlock()
		return errors.Join(fmt.Errorf("storing blob %s: %w", h, err), b.removeTemp())
	}
	delete(b.s.temps, b.f.Name())
	b.s.created = append(b.s.created, h)
	b.s.mu.Unlock()
	if err := b.s.fs.SyncDir(b.s.blobDir()); err != nil {
		return fmt.Errorf("storing blob %s: %w", h, err)
	}
	return nil
}

func (b *layoutBlob) Abort() error {
	var cerr error
	if !b.closed {
		b.closed = true
		cerr = b.f.Close()
	}
	return errors.Join(cerr, b.removeTemp())
}

// tempPrefix starts the name of every temp file and directory layerlint
// makes in a layout; nothing else there starts with it.
const tempPrefix = ".layerlint-"

// errCollecting marks a failure of --gc after index.json changed.
var errCollecting = errors.New("removing unused blobs")

// errCommitted marks a failure after the rename of writeFileAtomic: the
// new file is in place (its directory entry may not be durable yet).
var errCommitted = errors.New("the new file is in place")

// writeFileAtomic writes name in dir through a synced temp file and a
// rename, then syncs the directory: a crash leaves the old file or the new
// one, never a mix. An error after the rename wraps errCommitted.
func writeFileAtomic(fsys fsys, dir, name string, data []byte) error {
	dst := filepath.Join(dir, name)
	f, err := fsys.CreateTemp(dir, tempPrefix+name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(f.Name(), dst)
	}
	if err != nil {
		rerr := fsys.Remove(f.Name())
		if errors.Is(rerr, fs.ErrNotExist) {
			rerr = nil
		}
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), rerr)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: %w: %w", dst, errCommitted, err)
	}
	return nil
}

// indexOptions name what goes into index.json.
type indexOptions struct {
	// Tag is the org.opencontainers.image.ref.name of the new image.
	Tag string
	// Annotations go on the index that lists several images (the source
	// index's annotations).
	Annotations map[string]string
}

// writeRoot writes the manifest list of several rewritten images (one per
// platform) into sink, or returns the single image's descriptor, and
// returns the descriptor index.json should list.
func writeRoot(sink blobSink, results []*Result, opts indexOptions) (v1.Descriptor, error) {
	if len(results) == 1 {
		d := results[0].Descriptor()
		d.Platform = nil
		if opts.Tag != "" {
			d.Annotations = map[string]string{specs.AnnotationRefName: opts.Tag}
		}
		return d, nil
	}
	mt := types.OCIImageIndex
	if familyOf(results[0].ManifestType) == familyDocker {
		mt = types.DockerManifestList
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: mt, Annotations: opts.Annotations}
	for _, r := range results {
		idx.Manifests = append(idx.Manifests, r.Descriptor())
	}
	raw, err := marshal(idx)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := putBlob(sink, raw)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing index: %w", err)
	}
	d := v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(raw))}
	if opts.Tag != "" {
		d.Annotations = map[string]string{specs.AnnotationRefName: opts.Tag}
	}
	return d, nil
}

// writeLayoutIndex finishes a new OCI layout in dir: oci-layout, then
// index.json listing roots. Blobs must already be in place.
func writeLayoutIndex(fsys fsys, dir string, roots []v1.Descriptor) error {
	if err := writeFileAtomic(fsys, dir, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: roots}
	raw, err := marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(fsys, dir, "index.json", raw)
}

// prepareOutput checks that dir can receive a new layout: absent, or an
// empty directory. layerlint never writes over something it did not make.
// It returns how to take the output back: remove dir if it made it, else
// empty it again.
func prepareOutput(fsys fsys, dir string) (undo func() error, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("creating output %s: %w", dir, err), fsys.RemoveAll(dir))
		}
		return func() error { return fsys.RemoveAll(dir) }, nil
	case err != nil:
		return nil, fmt.Errorf("output %s: %w", dir, err)
	case len(entries) > 0:
		return nil, fmt.Errorf("output %s exists and is not empty: %w", dir, fs.ErrExist)
	}
	return func() error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			errs = append(errs, fsys.RemoveAll(filepath.Join(dir, e.Name())))
		}
		return errors.Join(errs...)
	}, nil
}

// writeDockerArchive writes the image of a finished layout (one image)
// as a `docker save` tarball at dst, named by every tag, through a temp
// file next to dst, fsynced and renamed, then the directory fsynced.
// ggcr's tarball writer makes manifest.json and the blob names docker
// load expects.
func writeDockerArchive(fsys fsys, layoutDir, dst string, tags []string) (err error) {
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	if len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsImage() {
		return fmt.Errorf("a docker archive holds one image per platform; select one with --platform: %w", ErrBadPlan)
	}
	img, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		return fmt.Errorf("reading staged image: %w", err)
	}
	refs := map[name.Reference]v1.Image{}
	for _, tag := range tags {
		ref, err := name.NewTag(tag, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("tag %q for the docker archive: %w: %w", tag, err, ErrBadPlan)
		}
		refs[ref] = img
	}
	dir := filepath.Dir(dst)
	f, err := fsys.CreateTemp(dir, tempPrefix+filepath.Base(dst)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer func() {
		if err != nil && !errors.Is(err, errCommitted) {
			if rerr := fsys.Remove(f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	if err := tarball.MultiRefWrite(refs, f); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := fsys.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: %w: %w", dst, errCommitted, err)
	}
	return nil
}

// inPlace is an in-place update of an OCI layout: new blobs are written
// first, checked, and only then does index.json change, in one rename.
type inPlace struct {
	fs   fsys
	Dir  string
	Sink *layoutSink
	// GC removes blobs that nothing in index.json reaches any more;
	// otherwise the old image stays listed under "<tag>-prefix".
	GC bool
}

// Swap replaces, in index.json, every descriptor of an old manifest (or
// of an index that leads to one) by its rewritten one. Nested indexes on
// the way are rewritten as new blobs. Unless GC, the old top-level
// descriptor is kept under the tag "<tag>-prefix".
func (ip *inPlace) Swap(replace map[v1.Hash]v1.Descriptor) (kept []string, err error) {
	raw, err := os.ReadFile(filepath.Join(ip.Dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading %s/index.json: %w", ip.Dir, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("reading %s/index.json: %w", ip.Dir, err)
	}
	var descs []map[string]json.RawMessage
	if err := json.Unmarshal(top["manifests"], &descs); err != nil {
		return nil, fmt.Errorf("reading %s/index.json manifests: %w", ip.Dir, err)
	}
	root, err := os.OpenRoot(ip.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ip.Dir, err)
	}
	defer root.Close() //nolint:errcheck // read through it only
	rw := &rewriter{src: root, sink: ip.Sink, replace: replace}
	var out []map[string]json.RawMessage
	var old []map[string]json.RawMessage
	for _, d := range descs {
		nd, changed, err := rw.rewrite(d, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, nd)
		if changed && !ip.GC {
			old = append(old, d)
		}
	}
	for _, d := range old {
		ann := map[string]string{}
		if raw, ok := d["annotations"]; ok {
			if err := json.Unmarshal(raw, &ann); err != nil {
				return nil, fmt.Errorf("reading index.json annotations: %w", err)
			}
		}
		tag := ann[specs.AnnotationRefName]
		if tag == "" {
			tag = "image"
		}
		keep := tag + "-prefix"
		ann[specs.AnnotationRefName] = keep
		kd := cloneEntry(d)
		if kd["annotations"], err = marshal(ann); err != nil {
			return nil, err
		}
		// A previous run's "-prefix" entry makes way for this one.
		out = slices.DeleteFunc(out, func(x map[string]json.RawMessage) bool { return refOf(x) == keep })
		out = append(out, kd)
		kept = append(kept, keep)
	}
	if top["manifests"], err = marshal(out); err != nil {
		return nil, err
	}
	b, err := marshal(top)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(ip.fs, ip.Dir, "index.json", b); err != nil {
		return nil, err
	}
	if ip.GC {
		if err := ip.collect(); err != nil {
			return kept, fmt.Errorf("index.json updated; %w: %w", errCollecting, err)
		}
	}
	return kept, nil
}

func refOf(d map[string]json.RawMessage) string {
	var ann map[string]string
	_ = json.Unmarshal(d["annotations"], &ann) // no annotations, no ref
	return ann[specs.AnnotationRefName]
}

// rewriter rewrites descriptors of a source layout: a replaced manifest
// becomes its new descriptor, and an index on the way to one is written
// again as a new blob (the same JSON but for the digests: annotations,
// order and the other entries kept). With copyAll, everything an
// untouched descriptor reaches (indexes, manifests, configs, layers) is
// copied from the source into the sink, children before parents, each
// checked against its digest.
type rewriter struct {
	src     *os.Root
	sink    *layoutSink
	replace map[v1.Hash]v1.Descriptor
	copyAll bool
}

// maxJSONBlob bounds the index and manifest blobs read, as the reader does.
const maxJSONBlob = 8 << 20

func (rw *rewriter) readJSON(d v1.Descriptor) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" || d.Size < 0 || d.Size > maxJSONBlob {
		return nil, fmt.Errorf("descriptor %s (%d bytes): not a blob layerlint reads", d.Digest, d.Size)
	}
	f, err := rw.src.Open(path.Join("blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxJSONBlob+1))
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != d.Digest || int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: content is %s (%d bytes): %w", d.Digest, h, len(b), source.ErrDigestMismatch)
	}
	return b, nil
}

// rewrite returns d with replaced digests, writing new index blobs for the
// indexes on the way.
func (rw *rewriter) rewrite(d map[string]json.RawMessage, depth int) (map[string]json.RawMessage, bool, error) {
	var desc v1.Descriptor
	raw, err := marshal(d)
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, false, fmt.Errorf("reading descriptor: %w", err)
	}
	if nd, ok := rw.replace[desc.Digest]; ok {
		return withDigest(d, nd)
	}
	if !desc.MediaType.IsIndex() || depth > 8 {
		return d, false, rw.copyTree(desc, depth)
	}
	b, err := rw.readJSON(desc)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !rw.copyAll {
			return d, false, nil // an index whose blob is absent leads nowhere
		}
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var kids []map[string]json.RawMessage
	if err := json.Unmarshal(idx["manifests"], &kids); err != nil {
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	changed := false
	for i, k := range kids {
		nk, c, err := rw.rewrite(k, depth+1)
		if err != nil {
			return nil, false, err
		}
		kids[i], changed = nk, changed || c
	}
	if !changed {
		return d, false, rw.putRaw(desc.Digest, b)
	}
	if idx["manifests"], err = marshal(kids); err != nil {
		return nil, false, err
	}
	nb, err := marshal(idx)
	if err != nil {
		return nil, false, err
	}
	h, err := putBlob(rw.sink, nb)
	if err != nil {
		return nil, false, fmt.Errorf("writing index: %w", err)
	}
	return withDigest(d, v1.Descriptor{MediaType: desc.MediaType, Digest: h, Size: int64(len(nb))})
}

func (rw *rewriter) putRaw(h v1.Hash, b []byte) error {
	if !rw.copyAll {
		return nil
	}
	_, err := putBlob(rw.sink, b)
	return err
}

// copyTree copies, with copyAll, an untouched descriptor and what it
// reaches. A layer blob absent from the source (a foreign layer) stays
// absent.
func (rw *rewriter) copyTree(d v1.Descriptor, depth int) error {
	if !rw.copyAll || rw.sink.Has(d.Digest) {
		return nil // children are written before their parent
	}
	switch {
	case d.MediaType.IsIndex():
		_, _, err := rw.rewrite(map[string]json.RawMessage{
			"mediaType": mustJSON(d.MediaType), "digest": mustJSON(d.Digest.String()), "size": mustJSON(d.Size),
		}, depth)
		return err
	case d.MediaType.IsImage():
		b, err := rw.readJSON(d)
		if err != nil {
			return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
		}
		for _, c := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if err := rw.copyBlob(c); err != nil {
				return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
			}
		}
		_, err = putBlob(rw.sink, b)
		return err
	}
	return rw.copyBlob(d)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) //nolint:errchkjson // strings and numbers
	return b
}

// copyBlob streams one blob from the source into the sink, checking its
// digest and size.
func (rw *rewriter) copyBlob(d v1.Descriptor) (err error) {
	if rw.sink.Has(d.Digest) {
		return nil
	}
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest algorithm", d.Digest)
	}
	f, err := rw.src.Open(path.Join("blobs", d.Digest.Algorithm, d.Digest.Hex))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("blob %s: not a regular file: %w", d.Digest, err)
	}
	bw, err := rw.sink.Create()
	if err != nil {
		return err
	}
	dg := newDigester(bw)
	if _, err := io.Copy(dg, f); err != nil {
		return errors.Join(fmt.Errorf("copying blob %s: %w", d.Digest, err), bw.Abort())
	}
	if got := dg.digest(); got != d.Digest || dg.n != d.Size {
		return errors.Join(fmt.Errorf("blob %s: content is %s (%d bytes): %w", d.Digest, got, dg.n, source.ErrDigestMismatch), bw.Abort())
	}
	return bw.Commit(d.Digest)
}

// keepOthers writes, for an output layout read from an OCI layout, the
// source's selected top-level index again with the rewritten manifests in
// place of the old ones and every other entry (other platforms,
// attestations) copied as it was. ok is false when the selection is not
// an index of that layout: the caller then lists the rewritten images
// itself.
func keepOthers(sink *layoutSink, ref source.Reference, replace map[v1.Hash]v1.Descriptor) (v1.Descriptor, bool, error) {
	if ref.Format != source.FormatOCILayout && ref.Format != source.FormatAuto {
		return v1.Descriptor{}, false, nil
	}
	root, err := os.OpenRoot(ref.Path)
	if err != nil {
		return v1.Descriptor{}, false, nil //nolint:nilerr // not a layout directory: no index to keep
	}
	defer root.Close() //nolint:errcheck // read-only
	raw, err := root.ReadFile("index.json")
	if err != nil {
		return v1.Descriptor{}, false, nil //nolint:nilerr // a docker archive or no layout
	}
	var top struct {
		Manifests []map[string]json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("reading %s/index.json: %w", ref.Path, err)
	}
	var sel map[string]json.RawMessage
	for _, d := range top.Manifests {
		var desc v1.Descriptor
		b, _ := json.Marshal(d) //nolint:errchkjson // raw JSON re-encodes
		if json.Unmarshal(b, &desc) != nil {
			continue
		}
		switch {
		case ref.Digest != (v1.Hash{}):
			if desc.Digest == ref.Digest {
				sel = d
			}
		case ref.Tag != "":
			if refOf(d) == ref.Tag {
				sel = d
			}
		case len(top.Manifests) == 1:
			sel = d
		}
		if sel != nil {
			if !desc.MediaType.IsIndex() {
				return v1.Descriptor{}, false, nil
			}
			break
		}
	}
	if sel == nil {
		return v1.Descriptor{}, false, nil
	}
	rw := &rewriter{src: root, sink: sink, replace: replace, copyAll: true}
	nd, _, err := rw.rewrite(sel, 0)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	b, err := marshal(nd)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	var out v1.Descriptor
	if err := json.Unmarshal(b, &out); err != nil {
		return v1.Descriptor{}, false, err
	}
	return out, true, nil
}

func withDigest(d map[string]json.RawMessage, nd v1.Descriptor) (map[string]json.RawMessage, bool, error) {
	out := cloneEntry(d)
	var err error
	if out["digest"], err = marshal(nd.Digest.String()); err != nil {
		return nil, false, err
	}
	if out["size"], err = marshal(nd.Size); err != nil {
		return nil, false, err
	}
	if out["mediaType"], err = marshal(nd.MediaType); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// collect removes the blobs that index.json no longer reaches.
func (ip *inPlace) collect() error {
	p, err := layout.FromPath(ip.Dir)
	if err != nil {
		return err
	}
	reach := map[string]bool{}
	ii, err := p.ImageIndex()
	if err != nil {
		return err
	}
	if err := markIndex(ii, reach, 0); err != nil {
		return err
	}
	dir := filepath.Join(ip.Dir, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || reach[e.Name()] {
			continue
		}
		if err := ip.fs.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func markIndex(ii v1.ImageIndex, reach map[string]bool, depth int) error {
	if depth > 8 {
		return nil
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return err
	}
	// Any blob that cannot be read, or a media type whose children are
	// not known, stops the collection: deleting on a partial walk could
	// remove something still needed.
	for _, d := range im.Manifests {
		reach[d.Digest.Hex] = true
		switch {
		case d.MediaType.IsIndex():
			child, err := ii.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if err := markIndex(child, reach, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := ii.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			m, err := img.Manifest()
			if err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			reach[m.Config.Digest.Hex] = true
			for _, l := range m.Layers {
				reach[l.Digest.Hex] = true
			}
			if m.Subject != nil {
				reach[m.Subject.Digest.Hex] = true
			}
		default:
			return fmt.Errorf("descriptor %s has media type %q whose references are unknown: not collecting", d.Digest, d.MediaType)
		}
	}
	return nil
}
