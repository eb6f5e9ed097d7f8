package analyze

import (
	"github.com/layerlint/layerlint/analyze/source"
)

// BaseLayersFromAnnotations counts the layers img shares with its base
// image, named by the manifest's org.opencontainers.image.base.digest
// annotation. lookup finds an image by manifest digest (for example in the
// same layout); the base counts only when its diff_ids are a prefix of
// img's. It returns ok=false when there is no annotation or the base
// cannot be found or does not match.
func BaseLayersFromAnnotations(img *source.Image, lookup func(digest string) (*source.Image, error)) (int, bool) {
	d := img.Annotations[AnnotationBaseDigest]
	if d == "" || lookup == nil {
		return 0, false
	}
	base, err := lookup(d)
	if err != nil || base == nil || len(base.Layers) > len(img.Layers) {
		return 0, false
	}
	for i, l := range base.Layers {
		if l.DiffID != img.Layers[i].DiffID {
			return 0, false
		}
	}
	return len(base.Layers), true
}
