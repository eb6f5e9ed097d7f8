package gate

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
)

// MaxGroupPaths is how many of its largest paths a Group names.
const MaxGroupPaths = 3

// groupDepth is how many leading components of a finding's directory
// decide its group: /usr/share/doc/<package>/copyright of every package
// falls in one group for /usr/share/doc, while /usr/bin and /usr/lib stay
// apart. Deeper, one package's docs would be a group each; shallower,
// everything under /usr would be one.
const groupDepth = 3

// Group is one problem: the findings of one rule in one layer whose cause
// is one step (an rm -rf of a directory, a package cache, the docs of the
// packages one RUN installed). A rule that reports file by file
// (rules.Rule.Grouped) has its findings of a layer grouped by directory;
// other findings are a group of their own. Its JSON form is part of the
// lint report (docs/json.md).
type Group struct {
	Rule     string         `json:"rule"`
	Name     string         `json:"name"`
	Severity rules.Severity `json:"severity"`
	// Layer is the layer index, or rules.ImageWide.
	Layer int `json:"layer"`
	// Path is the one finding's path, or, for several, the directory they
	// share with a trailing slash; absolute, as the container sees it, ""
	// for image-wide findings.
	Path string `json:"path"`
	// Findings counts the findings of the group; Bytes sums what they
	// cost: what fixing the problem saves.
	Findings int   `json:"findings"`
	Bytes    int64 `json:"bytes"`
	// Saves is what fixing the problem takes out of the image: Bytes for
	// the rules whose bytes are waste (rules.Rule.Saves), else 0.
	Saves int64 `json:"saves"`
	// Largest are the paths of the largest findings, largest first, at
	// most MaxGroupPaths.
	Largest []string `json:"largest"`
	// Message, Fix, CreatedBy and Location are those of the largest
	// finding.
	Message   string    `json:"message"`
	Fix       string    `json:"fix"`
	CreatedBy string    `json:"createdBy"`
	Location  *Location `json:"location,omitempty"`
	// Inherited: the group is in a base-image layer.
	Inherited bool `json:"inherited"`
	// Accepted: its findings are suppressed or baselined.
	Accepted bool `json:"accepted"`
	// Failing counts the findings that fail the gate.
	Failing int `json:"failing"`
	// Members are the indexes of the findings in Result.Findings.
	Members []int `json:"members"`
}

// Groups groups findings judged by a gate with the default catalog, for
// results made without Evaluate (Evaluate fills Result.Groups itself).
func Groups(fs []Finding) []Group {
	cat := map[string]rules.Rule{}
	for _, r := range Catalog() {
		cat[r.ID] = r
	}
	return groupFindings(fs, func(id string) rules.Rule { return cat[id] })
}

// group groups findings with the gate's catalog.
func (g *Gate) group(fs []Finding) []Group {
	return groupFindings(fs, func(id string) rules.Rule {
		if i, ok := g.byKey[id]; ok {
			return g.catalog[i]
		}
		return rules.Rule{}
	})
}

// groupFindings groups findings (see Group) and ranks the groups by what
// fixing them saves, then severity, then bytes; ties by rule, layer and
// path, so the order is the same on every run. rule looks a rule up by ID.
func groupFindings(fs []Finding, rule func(id string) rules.Rule) []Group {
	type key struct {
		rule      string
		layer     int
		sev       rules.Severity
		dir       string
		fix       string
		inherited bool
		accepted  bool
	}
	index := map[key]int{}
	var out []Group
	for i := range fs {
		f := &fs[i]
		k := key{rule: f.Rule, layer: f.Layer, sev: f.Severity, inherited: f.Inherited, accepted: f.Accepted()}
		rl := rule(f.Rule)
		grouped := f.Path != "" && rl.Grouped
		if grouped {
			k.dir = groupKey(f.Path)
			// A group shows one fix, so findings with different advice
			// are different problems (LL002: base-image files deleted,
			// where only another base helps, beside the step's own). A
			// fix that names its finding's path is per-file wording of
			// one advice and groups by directory alone.
			if !strings.Contains(f.Fix, displayPath(f.Path)) {
				k.fix = f.Fix
			}
		} else {
			k.dir = "\x00" + f.Fingerprint + "\x00" + f.Path // a group of its own
		}
		gi, ok := index[k]
		if !ok || !grouped {
			gi = len(out)
			index[k] = gi
			out = append(out, Group{Rule: f.Rule, Name: f.Name, Severity: f.Severity, Layer: f.Layer,
				Inherited: f.Inherited, Accepted: f.Accepted()})
		}
		gr := &out[gi]
		gr.Findings++
		gr.Bytes += f.Bytes
		if rl.Saves {
			gr.Saves += f.Bytes
		}
		if f.Failing {
			gr.Failing++
		}
		gr.Members = append(gr.Members, i)
	}
	for gi := range out {
		gr := &out[gi]
		// Largest first; ties by path, as the findings are sorted.
		slices.SortStableFunc(gr.Members, func(a, b int) int { return cmp.Compare(fs[b].Bytes, fs[a].Bytes) })
		top := &fs[gr.Members[0]]
		gr.Message, gr.Fix, gr.CreatedBy, gr.Location = top.Message, top.Fix, top.CreatedBy, top.Location
		gr.Path = displayPath(top.Path)
		paths := make([]string, 0, len(gr.Members))
		for _, m := range gr.Members {
			paths = append(paths, fs[m].Path)
			if len(gr.Largest) < MaxGroupPaths && fs[m].Path != "" {
				gr.Largest = append(gr.Largest, displayPath(fs[m].Path))
			}
		}
		if gr.Largest == nil {
			gr.Largest = []string{}
		}
		if len(gr.Members) > 1 {
			gr.Path = displayPath(commonDir(paths)) + "/"
			if gr.Path == "//" {
				gr.Path = "/"
			}
			gr.Message = fmt.Sprintf("%d findings under %s, %s; the largest: %s",
				len(gr.Members), gr.Path, analyze.Bytes(gr.Bytes), top.Message)
		}
		slices.Sort(gr.Members)
	}
	slices.SortStableFunc(out, compareGroups)
	return out
}

// compareGroups ranks by bytes saved, then severity, then bytes, then
// rule, layer and path.
func compareGroups(a, b Group) int {
	return cmp.Or(cmp.Compare(b.Saves, a.Saves), cmp.Compare(a.Severity, b.Severity), cmp.Compare(b.Bytes, a.Bytes),
		strings.Compare(a.Rule, b.Rule), cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path))
}

// groupKey is the first groupDepth components of p's directory.
func groupKey(p string) string {
	dir := path.Dir(p)
	if dir == "." {
		return ""
	}
	parts := strings.SplitN(dir, "/", groupDepth+1)
	return strings.Join(parts[:min(len(parts), groupDepth)], "/")
}

// commonDir is the deepest directory holding every path of ps.
func commonDir(ps []string) string {
	common := path.Dir(ps[0])
	for _, p := range ps[1:] {
		for common != "." && p != common && !strings.HasPrefix(p, common+"/") {
			common = path.Dir(common)
		}
	}
	if common == "." {
		return ""
	}
	return common
}

// displayPath spells a model path as the container sees it.
func displayPath(p string) string {
	if p == "" {
		return ""
	}
	return "/" + p
}
