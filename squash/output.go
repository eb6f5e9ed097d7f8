package squash

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
)

// LayoutSink writes blobs into an OCI layout directory: each to a temp
// file, fsynced, then renamed to its digest, so that a blob name never
// holds partial content.
type LayoutSink struct {
	dir string
	// mu guards created: layers are written in parallel.
	mu sync.Mutex
	// created lists the blobs this sink added (not those already there),
	// so that a failed in-place run can take them back.
	created []v1.Hash
}

// NewLayoutSink prepares dir/blobs/sha256.
func NewLayoutSink(dir string) (*LayoutSink, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	return &LayoutSink{dir: dir}, nil
}

func (s *LayoutSink) blobPath(h v1.Hash) string {
	return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex)
}

// Has reports whether the layout holds the blob.
func (s *LayoutSink) Has(h v1.Hash) bool {
	fi, err := os.Lstat(s.blobPath(h))
	return err == nil && fi.Mode().IsRegular()
}

// Create starts a blob in a temp file next to its final place.
func (s *LayoutSink) Create() (BlobWriter, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "blobs", "sha256"), ".layerlint-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating blob in %s: %w", s.dir, err)
	}
	return &layoutBlob{s: s, f: f}, nil
}

// Remove deletes the blobs this sink created.
func (s *LayoutSink) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, h := range s.created {
		if err := os.Remove(s.blobPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.created = nil
	return errors.Join(errs...)
}

type layoutBlob struct {
	s *LayoutSink
	f *os.File
}

func (b *layoutBlob) Write(p []byte) (int, error) { return b.f.Write(p) }

func (b *layoutBlob) Commit(h v1.Hash) error {
	if err := b.f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing blob %s: %w", h, err), b.Abort())
	}
	if err := b.f.Close(); err != nil {
		return errors.Join(fmt.Errorf("closing blob %s: %w", h, err), os.Remove(b.f.Name()))
	}
	// Under the lock, so that two writers of one digest (a layer kept
	// twice) agree on which of them created it.
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if b.s.Has(h) {
		return os.Remove(b.f.Name()) // same digest, same bytes
	}
	if err := os.Rename(b.f.Name(), b.s.blobPath(h)); err != nil {
		return errors.Join(fmt.Errorf("storing blob %s: %w", h, err), os.Remove(b.f.Name()))
	}
	b.s.created = append(b.s.created, h)
	return nil
}

func (b *layoutBlob) Abort() error {
	cerr := b.f.Close()
	if err := os.Remove(b.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if errors.Is(cerr, os.ErrClosed) {
		return nil
	}
	return cerr
}

// writeFileAtomic writes name in dir through a synced temp file and a
// rename, then syncs the directory: a crash leaves the old file or the new
// one, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err), os.Remove(f.Name()))
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// IndexOptions name what goes into index.json.
type IndexOptions struct {
	// Tag is the org.opencontainers.image.ref.name of the new image.
	Tag string
	// Annotations go on the index that lists several images (the source
	// index's annotations).
	Annotations map[string]string
}

// Root writes the manifest list of several rewritten images (one per
// platform) into sink, or returns the single image's descriptor, and
// returns the descriptor index.json should list.
func Root(sink BlobSink, results []*Result, opts IndexOptions) (v1.Descriptor, error) {
	if len(results) == 1 {
		d := results[0].Descriptor()
		d.Platform = nil
		if opts.Tag != "" {
			d.Annotations = map[string]string{specs.AnnotationRefName: opts.Tag}
		}
		return d, nil
	}
	mt := types.OCIImageIndex
	if familyOf(results[0].ManifestType) == FamilyDocker {
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

// WriteLayoutIndex finishes a new OCI layout in dir: oci-layout, then
// index.json listing root. Blobs must already be in place.
func WriteLayoutIndex(dir string, root v1.Descriptor, annotations map[string]string) error {
	if err := writeFileAtomic(dir, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{root}}
	if len(annotations) > 0 {
		idx.Annotations = annotations
	}
	raw, err := marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, "index.json", raw)
}

// PrepareOutput checks that dir can receive a new layout: absent, or an
// empty directory. layerlint never writes over something it did not make.
func PrepareOutput(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("output %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("output %s exists and is not empty: %w", dir, fs.ErrExist)
	}
	return nil
}

// WriteDockerArchive writes the image of a finished layout (one image)
// as a `docker save` tarball at dst, through a temp file and a rename.
// ggcr's tarball writer makes manifest.json and the blob names docker
// load expects.
func WriteDockerArchive(layoutDir, dst, tag string) (err error) {
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
	ref, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("tag %q for the docker archive: %w: %w", tag, err, ErrBadPlan)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(f.Name()))
		}
	}()
	if err := tarball.Write(ref, img, f); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return os.Rename(f.Name(), dst)
}

// InPlace is an in-place update of an OCI layout: new blobs are written
// first, checked, and only then does index.json change, in one rename.
type InPlace struct {
	Dir  string
	Sink *LayoutSink
	// GC removes blobs that nothing in index.json reaches any more;
	// otherwise the old image stays listed under "<tag>-prefix".
	GC bool
}

// Swap replaces, in index.json, every descriptor of an old manifest (or
// of an index that leads to one) by its rewritten one. Nested indexes on
// the way are rewritten as new blobs. Unless GC, the old top-level
// descriptor is kept under the tag "<tag>-prefix".
func (ip *InPlace) Swap(replace map[v1.Hash]v1.Descriptor) (kept []string, err error) {
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
	var out []map[string]json.RawMessage
	var old []map[string]json.RawMessage
	for _, d := range descs {
		nd, changed, err := ip.rewrite(d, replace, 0)
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
	if err := writeFileAtomic(ip.Dir, "index.json", b); err != nil {
		return nil, err
	}
	if ip.GC {
		if err := ip.collect(); err != nil {
			return kept, fmt.Errorf("index.json updated; removing unused blobs: %w", err)
		}
	}
	return kept, nil
}

func refOf(d map[string]json.RawMessage) string {
	var ann map[string]string
	_ = json.Unmarshal(d["annotations"], &ann) // no annotations, no ref
	return ann[specs.AnnotationRefName]
}

// rewrite returns d with replaced digests, writing new index blobs for the
// indexes on the way.
func (ip *InPlace) rewrite(d map[string]json.RawMessage, replace map[v1.Hash]v1.Descriptor, depth int) (map[string]json.RawMessage, bool, error) {
	var desc v1.Descriptor
	raw, err := marshal(d)
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, false, fmt.Errorf("reading descriptor: %w", err)
	}
	if nd, ok := replace[desc.Digest]; ok {
		return withDigest(d, nd)
	}
	if !desc.MediaType.IsIndex() || depth > 8 {
		return d, false, nil
	}
	b, err := os.ReadFile(filepath.Join(ip.Dir, "blobs", desc.Digest.Algorithm, desc.Digest.Hex))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
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
		nk, c, err := ip.rewrite(k, replace, depth+1)
		if err != nil {
			return nil, false, err
		}
		kids[i], changed = nk, changed || c
	}
	if !changed {
		return d, false, nil
	}
	if idx["manifests"], err = marshal(kids); err != nil {
		return nil, false, err
	}
	nb, err := marshal(idx)
	if err != nil {
		return nil, false, err
	}
	h, err := putBlob(ip.Sink, nb)
	if err != nil {
		return nil, false, fmt.Errorf("writing index: %w", err)
	}
	return withDigest(d, v1.Descriptor{MediaType: desc.MediaType, Digest: h, Size: int64(len(nb))})
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
func (ip *InPlace) collect() error {
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
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
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
