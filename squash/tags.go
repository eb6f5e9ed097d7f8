package squash

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/layerlint/layerlint/analyze/source"
)

// refNameRE is image-spec's grammar of org.opencontainers.image.ref.name
// (annotations.md): components of alphanumerics joined by separators,
// joined by "/".
var refNameRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)

// CheckTarget checks, before any work, that the images read from the
// source can go to t: in place needs an OCI layout directory, a docker
// archive one image and a REPO:TAG (from Tags or the image's name), and
// every tag must be valid for the output. Errors wrap ErrBadPlan.
func CheckTarget(t Target, imgs []*source.Image) error {
	if _, err := newTarget(t); err != nil {
		return err
	}
	switch t.Kind {
	case OutputNone:
	case OutputInPlace:
		if t.Source.Format != source.FormatOCILayout && t.Source.Format != source.FormatAuto {
			return planErrorf(OptionNotInPlace, "the source is a %s, not an OCI layout directory", t.Source.Format)
		}
		for _, img := range imgs {
			if img.Format != source.FormatOCILayout {
				return planErrorf(OptionNotInPlace, "the source is a %s, not an OCI layout directory", img.Format)
			}
		}
		return layoutTagsValid(t.Tags)
	case OutputLayout:
		return layoutTagsValid(t.Tags)
	case OutputRegistry:
	case OutputDockerArchive, OutputEngine:
		if len(imgs) != 1 {
			return planErrorf(OptionPlatform, "a docker archive holds one image per platform")
		}
		_, err := archiveTags(t.Tags, imgs[0])
		return err
	}
	return nil
}

func layoutTagsValid(tags []string) error {
	for _, tag := range tags {
		if !refNameRE.MatchString(tag) {
			return fmt.Errorf("tag %q: not a valid org.opencontainers.image.ref.name (letters, digits, and . _ - : @ + / between them): %w", tag, ErrBadPlan)
		}
	}
	return nil
}

// archiveTags returns the RepoTags of a docker archive: the tags asked
// for, else the image's full name (tag latest when only a repository is
// known), each in the short form docker save writes ("app:1" for
// docker.io/library/app:1).
func archiveTags(tags []string, img *source.Image) ([]string, error) {
	if len(tags) == 0 {
		if img.Name == "" {
			what := "no name"
			if img.Ref != "" {
				what = fmt.Sprintf("only the tag %q, no repository", img.Ref)
			}
			return nil, planErrorf(OptionTags, "a docker archive needs a REPO:TAG and the image has %s", what)
		}
		tags = []string{img.Name}
	}
	out := make([]string, 0, len(tags))
	for _, s := range tags {
		tag, err := name.NewTag(s)
		if err != nil {
			return nil, fmt.Errorf("tag %q for the docker archive: want REPO[:TAG]: %w: %w", s, err, ErrBadPlan)
		}
		out = append(out, familiar(tag))
	}
	return out, nil
}

// familiar writes a tag as docker does: without the default registry and
// without library/ for official images.
func familiar(t name.Tag) string {
	repo := t.Context().RepositoryStr()
	if reg := t.Context().RegistryStr(); reg != name.DefaultRegistry {
		return reg + "/" + repo + ":" + t.TagStr()
	}
	return strings.TrimPrefix(repo, "library/") + ":" + t.TagStr()
}
