package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

func duplicateContent() Rule {
	return Rule{
		ID:       "LL004",
		Name:     "duplicate-content",
		Severity: Info,
		Summary:  "The final filesystem holds the same bytes at more than one path, as separate files.",
		Doc: "Two paths with identical content are stored twice unless they are hard links of one " +
			"file. Copies often come from `cp` where a link would do, or from copying a build " +
			"output to two places. Keep one file and make the other path a symlink, or a hard link " +
			"created in the same layer. Example: `RUN cp /usr/bin/tool /app/tool-copy` becomes " +
			"`RUN ln -s /usr/bin/tool /app/tool-copy`. Files smaller than the threshold (1 KiB by " +
			"default) are ignored: small duplicates such as licence files cost little.",
		Check:   checkDuplicates,
		Saves:   true,
		Grouped: true,
		Options: []RuleOption{{
			Name: "minBytes", Type: OptionSize, Default: "1KiB",
			Doc: "the smallest file reported",
			Apply: func(o *Options, v OptionValue) error {
				o.DuplicateMinBytes = max(v.Int, 1)
				return nil
			},
		}},
	}
}

// checkDuplicates reports every copy but the first of each content. The
// first is the lowest (layer, path): the copies are what later steps added.
func checkDuplicates(f *Facts) []Finding {
	type content struct {
		hash overlay.Hash
		size int64
	}
	groups := map[content][]overlay.File{}
	var order []content
	for _, fl := range f.Files {
		if fl.Type != overlay.TypeRegular || fl.Size < f.Options.DuplicateMinBytes {
			continue
		}
		k := content{fl.Hash, fl.Size}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], fl)
	}
	var out []Finding
	for _, k := range order {
		fs := groups[k]
		slices.SortFunc(fs, func(a, b overlay.File) int {
			return cmp.Or(cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path))
		})
		// Hard links share one inode: only the first path of a link
		// group stores bytes.
		seen := map[uint64]bool{}
		var first *overlay.File
		for i := range fs {
			fl := &fs[i]
			if fl.Link != 0 {
				if seen[fl.Link] {
					continue
				}
				seen[fl.Link] = true
			}
			if first == nil {
				first = fl
				continue
			}
			out = append(out, Finding{
				Rule:      "LL004",
				Severity:  Info,
				Message:   fmt.Sprintf("%s has the same %d bytes as %s", abs(fl.Path), fl.Size, abs(first.Path)),
				Layer:     fl.Layer,
				Path:      fl.Path,
				Bytes:     fl.Size,
				CreatedBy: f.createdBy(fl.Layer),
				Fix:       fmt.Sprintf("make %s a symlink to %s (or a hard link in the same layer), or drop one copy", abs(fl.Path), abs(first.Path)),
				Related:   abs(first.Path),
			})
		}
	}
	return sorted(out)
}
