package squash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/analyze/source"
)

// registryTarget pushes the result to a registry (OutputRegistry) with
// ggcr's remote writer: the layers fix wrote go through a private staging
// folder; the layers it kept are not copied at all: they stream from the
// source when the registry lacks them, are mounted from the source
// repository when it is in the same registry, and are skipped when the
// registry has them already. The manifest is pushed by digest, read back
// and verified, and only then does the tag point at it, so a failed check
// leaves the tag where it was.
type registryTarget struct {
	ref   name.Tag
	ropts source.RegistryOptions
	src   source.Reference
	ctx   context.Context

	stage string
	sink  *layoutSink
	fs    fsys
	close func() error
	// kept are the source's layer blobs, by digest.
	kept map[v1.Hash]*source.Layer
	// pushed is what the tag will name; set by write.
	pushed remote.Taggable
}

var _ target = (*registryTarget)(nil)

func newRegistryTarget(t Target) (*registryTarget, error) {
	r, err := name.ParseReference(t.Path, t.Registry.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("--push %q: want [HOST[:PORT]/]REPO[:TAG]: %w: %w", t.Path, err, ErrBadPlan)
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return nil, fmt.Errorf("--push %q: push to a tag, not a digest (the digest is the result's): %w", t.Path, ErrBadPlan)
	}
	return &registryTarget{ref: tag, ropts: t.Registry, src: t.Source}, nil
}

// pushSink stages the blobs fix writes; it reports the source's own layer
// blobs as present, so that build does not copy them: they go to the
// registry straight from the source.
type pushSink struct {
	*layoutSink
	kept map[v1.Hash]*source.Layer
}

func (s pushSink) Has(h v1.Hash) bool {
	if l := s.kept[h]; l != nil && !l.Missing {
		return true
	}
	return s.layoutSink.Has(h)
}

func (t *registryTarget) prepare(imgs []Image) (blobSink, error) {
	t.kept = map[v1.Hash]*source.Layer{}
	for _, im := range imgs {
		for _, l := range im.Analysis.Image.Layers {
			t.kept[l.Digest] = l
		}
	}
	stage, err := os.MkdirTemp("", "layerlint-push-")
	if err != nil {
		return nil, fmt.Errorf("staging the push to %s: %w", t.ref, err)
	}
	t.stage = stage
	if t.fs, t.close, err = openFS(stage, nil); err != nil {
		return nil, err
	}
	if t.sink, err = newLayoutSink(t.fs, stage); err != nil {
		return nil, err
	}
	return pushSink{layoutSink: t.sink, kept: t.kept}, nil
}

func (t *registryTarget) remote(ctx context.Context) []remote.Option {
	return t.ropts.RemoteOptions(ctx)
}

// write pushes every blob and the manifests by digest; the tag waits for
// commit.
func (t *registryTarget) write(ctx context.Context, w *written) error {
	t.ctx = ctx
	root, err := w.writeRoot(t.sink)
	if err != nil {
		return err
	}
	w.out.Root = root
	var imgs []v1.Image
	for _, r := range w.out.Results {
		core := &pushedImage{t: t, res: r}
		img, err := partial.CompressedToImage(core)
		if err != nil {
			return err
		}
		imgs = append(imgs, &mountingImage{Image: img, core: core})
	}
	at := t.ref.Context().Digest(root.Digest.String())
	if len(imgs) == 1 {
		if err := remote.Write(at, imgs[0], t.remote(ctx)...); err != nil {
			return t.wrapErr("pushing", err)
		}
		t.pushed = imgs[0]
		return nil
	}
	// The index as written (its bytes are its digest), its images by
	// digest.
	raw, err := os.ReadFile(t.sink.blobPath(root.Digest))
	if err != nil {
		return fmt.Errorf("pushing to %s: reading the index written: %w", t.ref, err)
	}
	idx := &pushedIndex{raw: raw, desc: root, imgs: map[v1.Hash]v1.Image{}}
	for i, img := range imgs {
		idx.imgs[w.out.Results[i].ManifestDigest] = img
	}
	if err := remote.WriteIndex(at, idx, t.remote(ctx)...); err != nil {
		return t.wrapErr("pushing", err)
	}
	t.pushed = idx
	return nil
}

// verify reads the pushed manifest back by digest, from the registry.
func (t *registryTarget) verify(ctx context.Context, w *written, opts *VerifyOptions) error {
	ref := "registry:" + t.ref.Context().Digest(w.out.Root.Digest.String()).String()
	return verifyAllFrom(ctx, w.imgs, w.out, ref, opts, "", source.Options{Registry: t.ropts})
}

// commit points the tag at the pushed manifest.
func (t *registryTarget) commit(*written) error {
	if err := remote.Tag(t.ref, t.pushed, t.remote(t.ctx)...); err != nil {
		return t.wrapErr("tagging", err)
	}
	return nil
}

// wrapErr words a failed push as the reader words a failed pull: the
// registry, the reference, the status, a sentinel for the exit code.
func (t *registryTarget) wrapErr(doing string, err error) error {
	if errors.Is(err, source.ErrDigestMismatch) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s %s: %w", doing, t.ref, err)
	}
	return source.RegistryError(t.ref.RegistryStr(), t.ref.Context().RepositoryStr()+":"+t.ref.TagStr(), doing, err)
}

// rollback: the tag never moved. What was pushed by digest stays in the
// registry untagged (a registry's garbage collection takes it; the
// distribution API offers no portable way to delete it).
func (t *registryTarget) rollback() error { return nil }

func (t *registryTarget) release() error {
	var err error
	if t.close != nil {
		err = t.close()
	}
	if t.stage != "" {
		err = errors.Join(err, os.RemoveAll(t.stage))
	}
	return err
}

// pushedImage is the ggcr view of one rewritten image: its manifest and
// config as written, its layers from the stage or the source.
type pushedImage struct {
	t   *registryTarget
	res *Result
}

var _ partial.CompressedImageCore = (*pushedImage)(nil)

func (p *pushedImage) RawConfigFile() ([]byte, error)      { return p.res.Config, nil }
func (p *pushedImage) RawManifest() ([]byte, error)        { return p.res.Manifest, nil }
func (p *pushedImage) MediaType() (types.MediaType, error) { return p.res.ManifestType, nil }

func (p *pushedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range p.res.Layers {
		if l.Digest != h {
			continue
		}
		if p.t.sink.Has(h) {
			return &stagedLayer{path: p.t.sink.blobPath(h), digest: h, size: l.Size, mt: l.MediaType}, nil
		}
		src := p.t.kept[h]
		if src == nil {
			return nil, fmt.Errorf("layer %s: neither written nor in the source", h)
		}
		if p.t.src.Format == source.FormatRegistry {
			// From the source registry: mounted when it is the same one,
			// else streamed from it.
			repo, err := name.ParseReference(p.t.src.Path, p.t.ropts.NameOptions()...)
			if err != nil {
				return nil, err
			}
			rl, err := remote.Layer(repo.Context().Digest(h.String()), p.t.remote(p.t.ctx)...)
			if err != nil {
				return nil, err
			}
			return &remote.MountableLayer{Layer: &typedLayer{Layer: rl, mt: l.MediaType, size: l.Size}, Reference: repo.Context().Digest(h.String())}, nil
		}
		return &sourceLayer{l: src, mt: l.MediaType}, nil
	}
	if h == p.res.Source.ConfigDigest || h.Hex == "" {
		return nil, fmt.Errorf("blob %s is the config", h)
	}
	return nil, fmt.Errorf("layer %s: not in the image", h)
}

// mountingImage hands out the mountable layers as they are: ggcr's
// writer mounts only a *remote.MountableLayer, which partial's wrapper
// would hide.
type mountingImage struct {
	v1.Image
	core *pushedImage
}

func (m *mountingImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range ls {
		h, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if ml, err := m.core.LayerByDigest(h); err == nil {
			if ml, ok := ml.(*remote.MountableLayer); ok {
				ls[i] = ml
			}
		}
	}
	return ls, nil
}

// pushedIndex is the index of several rewritten images, as written.
type pushedIndex struct {
	raw  []byte
	desc v1.Descriptor
	imgs map[v1.Hash]v1.Image
}

var _ v1.ImageIndex = (*pushedIndex)(nil)

func (p *pushedIndex) MediaType() (types.MediaType, error) { return p.desc.MediaType, nil }
func (p *pushedIndex) Digest() (v1.Hash, error)            { return p.desc.Digest, nil }
func (p *pushedIndex) Size() (int64, error)                { return p.desc.Size, nil }
func (p *pushedIndex) RawManifest() ([]byte, error)        { return p.raw, nil }
func (p *pushedIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(p.raw))
}

func (p *pushedIndex) Image(h v1.Hash) (v1.Image, error) {
	if img := p.imgs[h]; img != nil {
		return img, nil
	}
	return nil, fmt.Errorf("manifest %s: not in the index written", h)
}

func (p *pushedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	return nil, fmt.Errorf("index %s: no nested index is written", h)
}

// stagedLayer is a layer blob fix wrote to the stage.
type stagedLayer struct {
	path   string
	digest v1.Hash
	size   int64
	mt     types.MediaType
}

func (s *stagedLayer) Digest() (v1.Hash, error)            { return s.digest, nil }
func (s *stagedLayer) Size() (int64, error)                { return s.size, nil }
func (s *stagedLayer) MediaType() (types.MediaType, error) { return s.mt, nil }
func (s *stagedLayer) Compressed() (io.ReadCloser, error)  { return os.Open(s.path) }

// sourceLayer is a kept layer, streamed from the source and verified.
type sourceLayer struct {
	l  *source.Layer
	mt types.MediaType
}

func (s *sourceLayer) Digest() (v1.Hash, error)            { return s.l.Digest, nil }
func (s *sourceLayer) Size() (int64, error)                { return s.l.Size, nil }
func (s *sourceLayer) MediaType() (types.MediaType, error) { return s.mt, nil }
func (s *sourceLayer) Compressed() (io.ReadCloser, error)  { return s.l.OpenBlob(true) }

// typedLayer gives a remote layer the media type and size the manifest
// says (ggcr's remote layer claims a Docker type and asks for the size).
type typedLayer struct {
	v1.Layer
	mt   types.MediaType
	size int64
}

func (t *typedLayer) MediaType() (types.MediaType, error) { return t.mt, nil }
func (t *typedLayer) Size() (int64, error)                { return t.size, nil }
