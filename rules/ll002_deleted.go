package rules

import (
	"fmt"
	"slices"

	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/overlay"
)

func deletedFiles() Rule {
	return Rule{
		ID:       "LL002",
		Name:     "deleted-files",
		Severity: Warning,
		Summary:  "Files are added in one layer and deleted in a later one, so their bytes ship but are never visible.",
		Doc: "Deleting a file in a later layer only records a whiteout: the bytes stay in the layer " +
			"that added them, and every pull downloads them. Delete in the same step that creates, " +
			"or build in a separate stage and copy only the result. Example: `RUN make` then " +
			"`RUN rm -r /tmp/build` ships the build tree; use `RUN make && rm -r /tmp/build`, or a " +
			"multi-stage build. When the files come from the base image, deleting them saves " +
			"nothing: pick a smaller base instead.",
		Check:   checkDeleted,
		Saves:   true,
		Grouped: true,
	}
}

// checkDeleted groups hidden versions by the change that hid them, so that
// removing a directory is one finding however many files it held.
func checkDeleted(f *Facts) []Finding {
	type key struct {
		by       string
		hiddenBy int
		cause    overlay.Cause
	}
	type group struct {
		key
		layers []int
		dir    bool // the files were under By, not By itself
		files  int
		bytes  int64
	}
	idx := map[key]int{}
	var groups []group
	for _, w := range f.Waste {
		switch w.Cause {
		case overlay.CauseOverwritten:
			continue // LL001 and LL003
		case overlay.CauseDeleted, overlay.CauseOpaque, overlay.CauseReplaced:
		}
		k := key{by: w.By, hiddenBy: w.HiddenBy, cause: w.Cause}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, group{key: k})
		}
		g := &groups[i]
		if !slices.Contains(g.layers, w.Layer) {
			g.layers = append(g.layers, w.Layer)
		}
		g.files++
		g.bytes += w.Size
		g.dir = g.dir || w.Path != w.By
	}
	var out []Finding
	for _, g := range groups {
		if g.bytes == 0 {
			continue // empty files waste nothing
		}
		slices.Sort(g.layers)
		what := abs(g.by)
		if g.dir {
			what = fmt.Sprintf("%s (%s)", abs(g.by), textfmt.Plural(g.files, "file", "files"))
		}
		fix := "delete the files in the same step that creates them, or build in another stage and copy only what is needed"
		if f.allBase(g.layers) {
			fix = "the files come from the base image, so deleting them saves nothing: choose a base image without them"
		}
		out = append(out, Finding{
			Rule:     "LL002",
			Severity: Warning,
			Message: fmt.Sprintf("%s: %d bytes from %s %s layer %d but still shipped",
				what, g.bytes, layerList(g.layers), verb(g.cause), g.hiddenBy),
			Layer:     g.hiddenBy,
			Path:      g.by,
			Bytes:     g.bytes,
			CreatedBy: f.createdBy(g.hiddenBy),
			Fix:       fix,
		})
	}
	return sorted(out)
}

// verb says how a cause hid files, ready to be followed by "layer N".
func verb(c overlay.Cause) string {
	switch c {
	case overlay.CauseDeleted:
		return "deleted by"
	case overlay.CauseOpaque:
		return "hidden by an opaque marker in"
	case overlay.CauseReplaced:
		return "hidden by replacing a directory in"
	case overlay.CauseOverwritten:
		return "overwritten by"
	}
	return c.String()
}

// allBase reports whether every layer listed belongs to the base image.
func (f *Facts) allBase(layers []int) bool {
	if f.Report == nil {
		return false
	}
	for _, l := range layers {
		if l >= len(f.Report.Layers) || !f.Report.Layers[l].Base {
			return false
		}
	}
	return true
}
