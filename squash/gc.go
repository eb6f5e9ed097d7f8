package squash

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

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
