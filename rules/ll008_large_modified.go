package rules

import (
	"fmt"

	"github.com/layerlint/layerlint/overlay"
)

func largeFileModified() Rule {
	return Rule{
		ID:       "LL008",
		Name:     "large-file-modified",
		Severity: Warning,
		Summary:  "A large file from a lower layer is modified by a later layer, so the whole file is stored again.",
		Doc: "Layers record whole files, not changes to them: appending a line to a 500 MB file, " +
			"patching a binary or updating one row of a database stored in the image makes the later " +
			"layer ship the entire new file while the old version keeps shipping in its own layer. " +
			"Keep files that change after they are written out of the image (mount them as a volume " +
			"or fetch them at start-up), or produce them in their final form in a single step. " +
			"Example: `COPY geo.db /data/` followed by `RUN update-geo /data/geo.db` stores geo.db " +
			"twice; run the update before the COPY (or in a build stage) and copy the result once. " +
			"Files smaller than 1 MiB (an option) are left to LL001.",
		Check:   checkLargeModified,
		Saves:   true,
		Grouped: true,
		Options: []RuleOption{{
			Name: "minBytes", Type: OptionSize, Default: "1MiB",
			Doc: "the smallest modified file reported",
			Apply: func(o *Options, v OptionValue) error {
				o.LargeFileMinBytes = max(v.Int, 1)
				return nil
			},
		}},
	}
}

// checkLargeModified reports, at the layer that rewrote it, every large
// version overwritten by a regular file of a later layer with different
// bytes. Those versions are LL008's alone: LL001 leaves them out, so that
// their bytes are counted once (see largeModifications).
func checkLargeModified(f *Facts) []Finding {
	var out []Finding
	mods := newLargeModifications(f)
	for _, w := range f.Waste {
		newSize, ok := mods.claims(w)
		if !ok {
			continue
		}
		out = append(out, Finding{
			Rule:     "LL008",
			Severity: Warning,
			Message: fmt.Sprintf("%s (%d bytes) from layer %d is rewritten with different content by layer %d (now %d bytes); both versions ship, so %d bytes are stored twice",
				abs(w.Path), w.Size, w.Layer, w.HiddenBy, newSize, w.Size),
			Layer:     w.HiddenBy,
			Path:      w.Path,
			Bytes:     w.Size,
			CreatedBy: f.createdBy(w.HiddenBy),
			Fix: fmt.Sprintf("keep %s out of the image (a volume, or fetch it at start-up), or produce it in its final form in one step",
				abs(w.Path)),
		})
	}
	return sorted(out)
}

// largeModifications decides which hidden versions LL008 claims: files of
// at least LargeFileMinBytes replaced, by a later layer, by a regular file
// with different bytes. LL001 asks it too and reports only the others:
// two findings on the same bytes made every total that adds up what
// fixing saves count them twice (apt's pkgcache.bin, rewritten by each
// apt-get update, was in both LL001 and LL008). LL008 owns them because
// its advice is the one for a large file that keeps changing.
type largeModifications struct {
	f *Facts
	// sizes: layer -> path -> size of its last file entry, filled as
	// layers are asked about.
	sizes map[int]map[string]int64
}

func newLargeModifications(f *Facts) *largeModifications {
	return &largeModifications{f: f, sizes: map[int]map[string]int64{}}
}

// claims reports whether LL008 reports w, and the size of the file that
// replaced it.
func (m *largeModifications) claims(w overlay.Waste) (int64, bool) {
	if w.Cause != overlay.CauseOverwritten || w.SameContent || w.Size < m.f.Options.LargeFileMinBytes || w.HiddenBy <= w.Layer {
		return 0, false
	}
	if _, ok := m.sizes[w.HiddenBy]; !ok {
		m.sizes[w.HiddenBy] = fileSizes(m.f, w.HiddenBy)
	}
	// Not there: replaced by a link, device or directory, which is not
	// a modification.
	newSize, ok := m.sizes[w.HiddenBy][w.Path]
	return newSize, ok
}

// fileSizes maps the regular files of one layer to their sizes (the last
// entry wins, as in the model).
func fileSizes(f *Facts, layer int) map[string]int64 {
	m := map[string]int64{}
	if layer < 0 || layer >= len(f.Changesets) || f.Changesets[layer] == nil {
		return m
	}
	for _, e := range f.Changesets[layer].All() {
		if e.Kind == overlay.EntryFile {
			m[e.Path] = e.Size
		} else {
			delete(m, e.Path)
		}
	}
	return m
}
