package diff

import (
	"cmp"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules/gate"
)

func compareWaste(o, n *analyze.Report) Waste {
	w := Waste{
		Total: sizes(o.Summary.WastedBytes, n.Summary.WastedBytes),
		Above: sizes(o.Summary.UserWastedBytes, n.Summary.UserWastedBytes),
	}
	type key struct {
		path, cause string
		dir         bool
	}
	type pair struct {
		old, new   int64
		oldN, newN int
	}
	m := map[key]*pair{}
	var order []key
	get := func(g analyze.WasteGroup) *pair {
		k := key{g.Path, g.Cause, g.Dir}
		p := m[k]
		if p == nil {
			p = &pair{}
			m[k] = p
			order = append(order, k)
		}
		return p
	}
	for _, g := range o.TopWaste {
		p := get(g)
		p.old += g.Bytes
		p.oldN += g.Files
	}
	for _, g := range n.TopWaste {
		p := get(g)
		p.new += g.Bytes
		p.newN += g.Files
	}
	w.Added, w.Removed = []WasteChange{}, []WasteChange{}
	for _, k := range order {
		p := m[k]
		pth := k.path
		if k.dir && !strings.HasSuffix(pth, "/") {
			pth += "/"
		}
		switch {
		case p.new > p.old:
			w.Added = append(w.Added, WasteChange{Path: pth, Cause: k.cause, Old: p.old, New: p.new, Files: p.newN})
		case p.old > p.new:
			w.Removed = append(w.Removed, WasteChange{Path: pth, Cause: k.cause, Old: p.old, New: p.new, Files: p.oldN})
		}
	}
	bySize := func(a, b WasteChange) int {
		return cmp.Or(cmp.Compare(abs(b.New-b.Old), abs(a.New-a.Old)), strings.Compare(a.Path, b.Path), strings.Compare(a.Cause, b.Cause))
	}
	slices.SortFunc(w.Added, bySize)
	slices.SortFunc(w.Removed, bySize)
	return w
}

func compareFindings(o, n []gate.Finding) *Findings {
	in := func(fs []gate.Finding) map[string]bool {
		m := map[string]bool{}
		for _, f := range fs {
			m[f.Fingerprint] = true
		}
		return m
	}
	oldFP, newFP := in(o), in(n)
	out := &Findings{New: []gate.Finding{}, Fixed: []gate.Finding{}, OldCount: len(o), NewCount: len(n)}
	for _, f := range n {
		if !oldFP[f.Fingerprint] {
			f.Path = displayPath(f.Path)
			out.New = append(out.New, f)
		}
	}
	for _, f := range o {
		if !newFP[f.Fingerprint] {
			f.Path = displayPath(f.Path)
			out.Fixed = append(out.Fixed, f)
		}
	}
	// What a reviewer acts on first: the most severe, then the largest.
	bySeverity := func(a, b gate.Finding) int {
		return cmp.Or(cmp.Compare(a.Severity, b.Severity), cmp.Compare(b.Bytes, a.Bytes),
			strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule), strings.Compare(a.Message, b.Message))
	}
	slices.SortStableFunc(out.New, bySeverity)
	slices.SortStableFunc(out.Fixed, bySeverity)
	return out
}
