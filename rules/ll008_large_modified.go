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
// bytes. LL001 reports the same bytes at the layer that shipped them, with
// the advice for files of any size.
func checkLargeModified(f *Facts) []Finding {
	var out []Finding
	sizes := map[int]map[string]int64{} // layer -> path -> size of its last file entry
	for _, w := range f.Waste {
		if w.Cause != overlay.CauseOverwritten || w.SameContent || w.Size < f.Options.LargeFileMinBytes || w.HiddenBy <= w.Layer {
			continue
		}
		if _, ok := sizes[w.HiddenBy]; !ok {
			sizes[w.HiddenBy] = fileSizes(f, w.HiddenBy)
		}
		newSize, ok := sizes[w.HiddenBy][w.Path]
		if !ok {
			continue // replaced by a link, device or directory: not a modification
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
