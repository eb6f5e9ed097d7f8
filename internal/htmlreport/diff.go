package htmlreport

import (
	"io"

	"github.com/layerlint/layerlint/internal/diff"
	"github.com/layerlint/layerlint/rules/gate"
)

// diffData is what the diff page shows: the two images drawn side by side
// on one scale, and what changed between them (diff.Result).
type diffData struct {
	Old          imageData    `json:"old"`
	New          imageData    `json:"new"`
	Total        diff.Part    `json:"total"`
	Base         diff.Part    `json:"base"`
	Above        diff.Part    `json:"above"`
	BaseChanged  bool         `json:"baseChanged"`
	OldBase      string       `json:"oldBase"`
	NewBase      string       `json:"newBase"`
	SharedLayers int          `json:"sharedLayers"`
	Files        filesData    `json:"files"`
	Waste        wasteDiff    `json:"waste"`
	Findings     *findingsDif `json:"findings"`
	Verdict      *verdictData `json:"verdict"`
}

type filesData struct {
	Added        int        `json:"added"`
	Removed      int        `json:"removed"`
	Changed      int        `json:"changed"`
	AddedBytes   int64      `json:"addedBytes"`
	RemovedBytes int64      `json:"removedBytes"`
	ChangedBytes int64      `json:"changedBytes"`
	Merged       diff.Sizes `json:"merged"`
	Dirs         []dirRow   `json:"dirs"`
	DirsMore     int        `json:"dirsMore"`
}

// dirRow is one directory of changes. Kind is what the page calls it:
// appeared (only added files), vanished (only removed ones), else grew,
// shrank or changed by the sign of Delta.
type dirRow struct {
	Path    string      `json:"path"`
	Kind    string      `json:"kind"`
	Added   int         `json:"added"`
	Removed int         `json:"removed"`
	Changed int         `json:"changed"`
	Delta   int64       `json:"delta"`
	Largest []changeRow `json:"largest"`
}

type changeRow struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	Old  int64  `json:"old"`
	New  int64  `json:"new"`
	// OldLink and NewLink are diff.Change's: a symlink's target, shown
	// instead of its size.
	OldLink string `json:"oldLink,omitempty"`
	NewLink string `json:"newLink,omitempty"`
}

type wasteDiff struct {
	Total diff.Sizes    `json:"total"`
	Above diff.Sizes    `json:"above"`
	Rows  []wasteChange `json:"rows"`
}

type wasteChange struct {
	Path   string `json:"path"`
	Cause  string `json:"cause"`
	Old    int64  `json:"old"`
	New    int64  `json:"new"`
	Files  int    `json:"files"`
	Change string `json:"change"` // added or removed
}

type findingsDif struct {
	Rows     []findingDiff `json:"rows"`
	OldCount int           `json:"oldCount"`
	NewCount int           `json:"newCount"`
}

type findingDiff struct {
	findingData
	Change string `json:"change"` // new or fixed
}

type verdictData struct {
	Result string       `json:"result"`
	Checks []diff.Check `json:"checks"`
}

// WriteDiff writes the diff page of r, which compared old with new.
func WriteDiff(w io.Writer, old, new diff.Image, r *diff.Result, opts Options) error {
	return render(w, newDiffPage(old, new, r, opts))
}

// DiffDataJSON returns the JSON block of the diff page, for golden tests.
func DiffDataJSON(old, new diff.Image, r *diff.Result, opts Options) ([]byte, error) {
	return encodeData(newDiffPage(old, new, r, opts))
}

func newDiffPage(old, new diff.Image, r *diff.Result, opts Options) page {
	// No maps: the page compares, and two maps of a million files would
	// double what the browser draws.
	side := func(s diff.Image) imageData {
		return newImageData(Image{Report: s.Analysis.Report}, opts)
	}
	dd := &diffData{
		Old: side(old), New: side(new),
		Total: r.Total, Base: r.Base, Above: r.Above, BaseChanged: r.BaseChanged,
		OldBase: baseName(r.Old, r.New), NewBase: baseName(r.New, r.Old), SharedLayers: r.SharedLayers,
		Files: filesData{
			Added: r.Files.Added, Removed: r.Files.Removed, Changed: r.Files.Changed,
			AddedBytes: r.Files.AddedBytes, RemovedBytes: r.Files.RemovedBytes, ChangedBytes: r.Files.ChangedBytes,
			Merged: r.Files.Merged, Dirs: []dirRow{}, DirsMore: r.Files.DirsMore,
		},
		Waste: wasteDiff{Total: r.Waste.Total, Above: r.Waste.Above, Rows: []wasteChange{}},
	}
	for _, d := range r.Files.Dirs {
		row := dirRow{Path: absPath(p(d.Path)), Added: d.Added, Removed: d.Removed, Changed: d.Changed, Delta: d.Delta, Largest: []changeRow{}}
		switch {
		case d.Removed == 0 && d.Changed == 0:
			row.Kind = "appeared"
		case d.Added == 0 && d.Changed == 0:
			row.Kind = "vanished"
		default:
			row.Kind = growth(d.Delta)
		}
		for _, c := range d.Largest {
			cr := changeRow{Path: absPath(p(c.Path)), Old: c.Old, New: c.New, OldLink: p(c.OldLink), NewLink: p(c.NewLink)}
			switch c.Kind {
			case diff.Appeared:
				cr.Kind = "appeared"
			case diff.Vanished:
				cr.Kind = "vanished"
			case diff.Modified:
				cr.Kind = growth(c.New - c.Old)
			}
			row.Largest = append(row.Largest, cr)
		}
		dd.Files.Dirs = append(dd.Files.Dirs, row)
	}
	for _, set := range []struct {
		ws     []diff.WasteChange
		change string
	}{{r.Waste.Added, "added"}, {r.Waste.Removed, "removed"}} {
		for _, w := range set.ws {
			dd.Waste.Rows = append(dd.Waste.Rows, wasteChange{Path: absPath(p(w.Path)), Cause: p(w.Cause), Old: w.Old, New: w.New, Files: w.Files, Change: set.change})
		}
	}
	if f := r.Findings; f != nil {
		dd.Findings = &findingsDif{Rows: []findingDiff{}, OldCount: f.OldCount, NewCount: f.NewCount}
		for _, set := range []struct {
			fs     []gate.Finding
			change string
		}{{f.New, "new"}, {f.Fixed, "fixed"}} {
			for i := range set.fs {
				if len(dd.Findings.Rows) == maxFindingRows {
					break
				}
				dd.Findings.Rows = append(dd.Findings.Rows, findingDiff{findingData: newFindingData(&set.fs[i]), Change: set.change})
			}
		}
	}
	if v := r.Verdict; v != nil {
		dd.Verdict = &verdictData{Result: p(v.Result), Checks: []diff.Check{}}
		for _, c := range v.Checks {
			dd.Verdict.Checks = append(dd.Verdict.Checks, diff.Check{Name: p(c.Name), Limit: p(c.Limit), Measured: p(c.Measured), Failed: c.Failed})
		}
	}
	return page{Kind: KindDiff, Version: p(opts.Version), Images: []imageData{}, Diff: dd}
}

// baseName names an image's base for people: its name, with its digest
// when the other side's base has the same name (a tag updated upstream).
func baseName(this, other diff.ImageRef) string {
	n := p(this.BaseName)
	if n == this.BaseName && n != "" && n == other.BaseName && this.BaseDigest != other.BaseDigest && this.BaseDigest != "" {
		d := p(this.BaseDigest)
		if len(d) > 19 {
			d = d[:19] // sha256: and 12 hex digits
		}
		n += "@" + d
	}
	return n
}

// growth names a change of size.
func growth(delta int64) string {
	switch {
	case delta > 0:
		return "grew"
	case delta < 0:
		return "shrank"
	}
	return "changed"
}
