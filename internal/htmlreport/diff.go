package htmlreport

import (
	"cmp"
	"io"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules/gate"
)

// ChangeKind says how a path of the merged view changed between two
// images.
type ChangeKind uint8

// Kinds of change.
const (
	Appeared ChangeKind = iota + 1
	Vanished
	Grew
	Shrank
	// Changed: the content changed and the size did not.
	Changed
)

func (k ChangeKind) String() string {
	switch k {
	case Appeared:
		return "appeared"
	case Vanished:
		return "vanished"
	case Grew:
		return "grew"
	case Shrank:
		return "shrank"
	case Changed:
		return "changed"
	}
	return "change(" + itoa(int(k)) + ")"
}

// Change is one file or directory that differs between the images.
type Change struct {
	// Path is absolute; Dir marks a directory that stands for the files
	// under it.
	Path string
	Dir  bool
	Kind ChangeKind
	// Before and After are the bytes in the old and the new image.
	Before, After int64
	// Files counts the files the change covers.
	Files int
}

// Diff is what the diff page compares: the two images, drawn side by side
// on one scale, and what changed between them.
type Diff struct {
	Old, New Image
	Changes  []Change
	// WasteAdded is waste of the new image the old one did not have;
	// WasteRemoved the reverse.
	WasteAdded, WasteRemoved []analyze.WasteGroup
	// NewFindings are in the new image only, FixedFindings in the old one
	// only (matched by fingerprint).
	NewFindings, FixedFindings []gate.Finding
}

const maxChangeRows = 2000

type diffData struct {
	Old         imageData     `json:"old"`
	New         imageData     `json:"new"`
	Changes     []changeRow   `json:"changes"`
	ChangesMore int           `json:"changesMore"`
	Waste       []wasteChange `json:"waste"`
	Findings    []findingDiff `json:"findings"`
}

type changeRow struct {
	Path   string `json:"path"`
	Dir    bool   `json:"dir"`
	Kind   string `json:"kind"`
	Before int64  `json:"before"`
	After  int64  `json:"after"`
	Files  int    `json:"files"`
}

type wasteChange struct {
	wasteRow
	Change string `json:"change"` // added or removed
}

type findingDiff struct {
	findingData
	Change string `json:"change"` // new or fixed
}

// WriteDiff writes the diff page.
func WriteDiff(w io.Writer, d Diff, opts Options) error {
	return render(w, newDiffPage(d, opts))
}

// DiffDataJSON returns the JSON block of the diff page, for golden tests.
func DiffDataJSON(d Diff, opts Options) ([]byte, error) {
	return encodeData(newDiffPage(d, opts))
}

func newDiffPage(d Diff, opts Options) page {
	// The maps are left out: the page compares, and two maps of a
	// million files would double what the browser draws.
	oldImg, newImg := d.Old, d.New
	oldImg.Model, newImg.Model = nil, nil
	dd := &diffData{
		Old: newImageData(oldImg, opts), New: newImageData(newImg, opts),
		Changes: []changeRow{}, Waste: []wasteChange{}, Findings: []findingDiff{},
	}
	changes := slices.Clone(d.Changes)
	// Largest change first, then by path: the order does not depend on the
	// caller's.
	slices.SortStableFunc(changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(absDelta(b), absDelta(a)), strings.Compare(a.Path, b.Path))
	})
	for i, c := range changes {
		if i == maxChangeRows {
			dd.ChangesMore = len(changes) - i
			break
		}
		path := p(c.Path)
		if c.Dir && !strings.HasSuffix(path, "/") {
			path += "/"
		}
		dd.Changes = append(dd.Changes, changeRow{Path: path, Dir: c.Dir, Kind: c.Kind.String(), Before: c.Before, After: c.After, Files: c.Files})
	}
	for _, set := range []struct {
		groups []analyze.WasteGroup
		change string
	}{{d.WasteAdded, "added"}, {d.WasteRemoved, "removed"}} {
		for _, g := range set.groups {
			dd.Waste = append(dd.Waste, wasteChange{wasteRow: newWasteRow(g), Change: set.change})
		}
	}
	for _, set := range []struct {
		fs     []gate.Finding
		change string
	}{{d.NewFindings, "new"}, {d.FixedFindings, "fixed"}} {
		for i := range set.fs {
			dd.Findings = append(dd.Findings, findingDiff{findingData: newFindingData(&set.fs[i]), Change: set.change})
		}
	}
	return page{Kind: KindDiff, Version: p(opts.Version), Images: []imageData{}, Diff: dd}
}

func absDelta(c Change) int64 {
	d := c.After - c.Before
	if d < 0 {
		return -d
	}
	return d
}
