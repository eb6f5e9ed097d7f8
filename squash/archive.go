package squash

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

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
