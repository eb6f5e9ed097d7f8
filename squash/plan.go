package squash

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/pathglob"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/overlay"
)

// Mode says which layers merge.
type Mode uint8

// Squash modes.
const (
	// SquashNone merges nothing (reorder, strip or recompress only).
	SquashNone Mode = iota
	// SquashRanges merges the ranges of Options.Ranges.
	SquashRanges
	// SquashAll merges every layer above the base into one.
	SquashAll
	// SquashAuto merges the fewest layers that remove all waste above the
	// base, moving commuting layers out of the way.
	SquashAuto
)

func (m Mode) String() string {
	switch m {
	case SquashNone:
		return "none"
	case SquashRanges:
		return "ranges"
	case SquashAll:
		return "all"
	case SquashAuto:
		return "auto"
	}
	return "squash(" + strconv.Itoa(int(m)) + ")"
}

// Range is an inclusive range of source layer indices.
type Range struct{ From, To int }

func (r Range) String() string { return fmt.Sprintf("%d..%d", r.From, r.To) }

// ParseRange reads "FROM..TO" (inclusive, from 0 at the bottom) or "N".
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		b = a
	}
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || from < 0 || to < from {
		return Range{}, fmt.Errorf("range %q: want FROM..TO with 0 <= FROM <= TO: %w", s, ErrBadPlan)
	}
	return Range{From: from, To: to}, nil
}

// Options say what to rewrite. The zero value rewrites nothing.
type Options struct {
	Mode   Mode
	Ranges []Range
	// Reorder moves commuting layers: stable first, volatile last.
	Reorder bool
	// Previous lists the diff_ids of earlier builds: a layer whose diff_id
	// is among them is stable.
	Previous []v1.Hash
	// BaseLayers is how many bottom layers belong to the base image; they
	// are never rewritten or moved. AllowBase lets an explicit range
	// include them (the caller said --base-layers 0).
	BaseLayers int
	// Strip lists path globs to drop from the final view, with what is
	// under what they match. The dialect is .layerlint.yaml's
	// (gitignore-style, internal/pathglob): "*.log" at any depth,
	// "var/cache" from the root, "**" any number of segments. A glob that
	// matches nothing in the image is an error.
	Strip []string
	// StripPaths lists exact paths (cleaned, as the model names them) to
	// drop from the final view with what is under them: what lint
	// findings name, with no pattern parsed again.
	StripPaths []string
	// Compression of the layers written; CompressionSource keeps each
	// image's own. Level is the codec's level (0: its default).
	Compression Compression
	Level       int
	// ForceCompression recompresses untouched layers too.
	ForceCompression bool
	// RewriteTimestamp, when set, clamps the mtimes of the entries of the
	// layers written to at most this Unix time.
	RewriteTimestamp *int64

	// ociTypes converts Docker media types (manifest, config, layers) to
	// their OCI equivalents; set by the targets that want them.
	ociTypes bool
}

// Group is one layer of the output.
type Group struct {
	// Layers are the source layers whose change the output layer holds,
	// in the order they apply.
	Layers []int
	// Rewrite is set when the layer is recomputed from the model (a merge,
	// a layer with waste of its own, or the top layer when stripping);
	// otherwise the source blob is kept (or only recompressed).
	Rewrite bool
}

func (g Group) String() string {
	if len(g.Layers) == 1 {
		return strconv.Itoa(g.Layers[0])
	}
	parts := make([]string, len(g.Layers))
	for i, l := range g.Layers {
		parts[i] = strconv.Itoa(l)
	}
	return "[" + strings.Join(parts, "+") + "]"
}

// Plan is the rewrite of one image: the output layers, bottom first, and
// why each step is safe.
type Plan struct {
	Groups []Group
	Base   int
	// Notes explain the plan: each merge, each move and why it is safe.
	Notes []string
	// Strip holds the globs to drop from the final view, StripPaths the
	// exact paths (Options.Strip and Options.StripPaths).
	Strip      []string
	StripPaths []string
}

// strips reports whether the plan drops anything from the final view.
func (p *Plan) strips() bool { return len(p.Strip) > 0 || len(p.StripPaths) > 0 }

// Changes reports whether the plan rewrites or moves any layer.
func (p *Plan) Changes() bool {
	for i, g := range p.Groups {
		if g.Rewrite || len(g.Layers) != 1 || g.Layers[0] != i {
			return true
		}
	}
	return false
}

// String is the one-line form of the plan: "0 1 [2+3+4] 6 5".
func (p *Plan) String() string {
	parts := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		parts[i] = g.String()
		if g.Rewrite && len(g.Layers) == 1 {
			parts[i] = "[" + parts[i] + "]"
		}
	}
	return strings.Join(parts, " ")
}

// NewPlan computes the plan for one analyzed image.
func NewPlan(a *analyze.Analysis, opts Options) (*Plan, error) {
	n := len(a.Changesets)
	base := min(max(opts.BaseLayers, 0), n)
	p := &Plan{Base: base, Strip: opts.Strip, StripPaths: opts.StripPaths}
	for i := range n {
		p.Groups = append(p.Groups, Group{Layers: []int{i}})
	}
	for i, cs := range a.Changesets {
		if cs == nil {
			// A foreign layer that is absent can be kept but not read.
			if opts.Mode != SquashNone || opts.Reorder {
				return nil, fmt.Errorf("layer %d (%s) is non-distributable and its blob is absent: %w", i, a.Image.Layers[i].Digest, ErrBadPlan)
			}
		}
	}
	switch opts.Mode {
	case SquashNone:
	case SquashRanges:
		if err := p.ranges(opts.Ranges, n); err != nil {
			return nil, err
		}
	case SquashAll:
		if n-base >= 1 {
			if err := p.ranges([]Range{{From: base, To: n - 1}}, n); err != nil {
				return nil, err
			}
		} else {
			p.Notes = append(p.Notes, "nothing above the base to squash")
		}
	case SquashAuto:
		p.auto(a)
	}
	if opts.Reorder {
		if opts.Mode == SquashRanges {
			return nil, planErrorf(OptionMode, "reordering with explicit ranges: ranges name source positions")
		}
		p.reorder(a, opts.Previous)
	}
	if p.strips() {
		if err := stripMatchesSomething(a.Model.Files(), opts.Strip, opts.StripPaths); err != nil {
			return nil, err
		}
		top := len(p.Groups) - 1
		if top < 0 || p.Groups[top].Layers[0] < base {
			return nil, planErrorf(OptionBaseLayers, "stripping needs a layer above the base to rewrite")
		}
		if !p.Groups[top].Rewrite {
			p.Groups[top].Rewrite = true
			p.Notes = append(p.Notes, fmt.Sprintf("rewrite top layer %s to strip %s", p.Groups[top], strings.Join(slices.Concat(opts.Strip, opts.StripPaths), ", ")))
		}
	}
	return p, nil
}

// ranges applies explicit ranges.
func (p *Plan) ranges(rs []Range, n int) error {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(x, y Range) int { return cmp.Compare(x.From, y.From) })
	for i, r := range rs {
		if r.To >= n {
			return fmt.Errorf("range %s: the image has layers 0..%d: %w", r, n-1, ErrBadPlan)
		}
		if r.From < p.Base {
			return planErrorf(OptionBaseLayers, "range %s touches the base image (layers 0..%d); they stay shared", r, p.Base-1)
		}
		if i > 0 && r.From <= rs[i-1].To {
			return fmt.Errorf("ranges %s and %s overlap: %w", rs[i-1], r, ErrBadPlan)
		}
	}
	var groups []Group
	next := 0
	for _, r := range rs {
		for ; next < r.From; next++ {
			groups = append(groups, Group{Layers: []int{next}})
		}
		g := Group{Rewrite: true}
		for i := r.From; i <= r.To; i++ {
			g.Layers = append(g.Layers, i)
		}
		groups = append(groups, g)
		next = r.To + 1
		p.Notes = append(p.Notes, fmt.Sprintf("squash layers %s into one", r))
	}
	for ; next < n; next++ {
		groups = append(groups, Group{Layers: []int{next}})
	}
	p.Groups = groups
	return nil
}

// auto finds merges that remove every wasted byte shipped above the base:
// a version shipped by layer s and hidden by layer h is gone once s and h
// are in one merged layer. Layers between them that are not involved are
// moved below or above the merge when they commute with the layers they
// pass, and merged in otherwise.
func (p *Plan) auto(a *analyze.Analysis) {
	n := len(a.Changesets)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(x, y int) { parent[find(x)] = find(y) }
	needs := make([]bool, n) // layers taking part in a merge or rewrite
	var wasted int64
	for _, w := range a.Model.Waste() {
		if w.Layer < p.Base {
			continue // shipped by the base: stays shared
		}
		needs[w.Layer], needs[w.HiddenBy] = true, true
		union(w.Layer, w.HiddenBy)
		wasted += w.Size
	}
	if wasted == 0 {
		p.Notes = append(p.Notes, "no waste above the base: nothing to squash")
		return
	}
	cm := newCommuter(a.Changesets)
	// Components whose spans overlap are one merge: a merged layer must be
	// contiguous, and two interleaved ones cannot both be.
	for changed := true; changed; {
		changed = false
		span := map[int][2]int{}
		for i := p.Base; i < n; i++ {
			if !needs[i] {
				continue
			}
			r := find(i)
			s, ok := span[r]
			if !ok {
				s = [2]int{i, i}
			}
			s[0], s[1] = min(s[0], i), max(s[1], i)
			span[r] = s
		}
		for i := p.Base; i < n && !changed; i++ {
			if !needs[i] {
				continue
			}
			for r, s := range span {
				if s[0] < i && i < s[1] && find(i) != r {
					union(i, r)
					changed = true
					break
				}
			}
		}
	}
	var groups []Group
	for i := 0; i < n; {
		if i < p.Base || !needs[i] {
			groups = append(groups, Group{Layers: []int{i}})
			i++
			continue
		}
		r := find(i)
		end := i
		for j := i; j < n; j++ {
			if needs[j] && find(j) == r {
				end = j
			}
		}
		var members, movers []int
		for j := i; j <= end; j++ {
			if needs[j] && find(j) == r {
				members = append(members, j)
			} else {
				movers = append(movers, j)
			}
		}
		below, above, members := p.placeMovers(cm, members, movers)
		for _, m := range below {
			groups = append(groups, Group{Layers: []int{m}})
		}
		groups = append(groups, Group{Layers: members, Rewrite: true})
		for _, m := range above {
			groups = append(groups, Group{Layers: []int{m}})
		}
		if len(members) == 1 {
			p.Notes = append(p.Notes, fmt.Sprintf("rewrite layer %d: it hides bytes it ships itself", members[0]))
		} else {
			p.Notes = append(p.Notes, fmt.Sprintf("squash layers %s: each hides bytes another of them ships", textfmt.JoinInts(members)))
		}
		i = end + 1
	}
	p.Groups = groups
}

// placeMovers decides, for each layer inside a merge's span that is not
// part of it, whether it moves below the merge, above it, or joins it; it
// returns the final members.
func (p *Plan) placeMovers(cm *commuter, members, movers []int) (below, above, final []int) {
	members = slices.Clone(members)
	for {
		below, above = below[:0], above[:0]
		var stuck []int
		var notes []string
		for _, m := range movers {
			var passDown, passUp []int
			for _, c := range members {
				if c < m {
					passDown = append(passDown, c)
				} else {
					passUp = append(passUp, c)
				}
			}
			if ok, why := cm.commutesAll(m, passDown); ok {
				below = append(below, m)
				notes = append(notes, fmt.Sprintf("move layer %d below the merge: it commutes with layers %s (%s)", m, textfmt.JoinInts(passDown), why))
				continue
			}
			// Going up, m passes the merge's layers above it and every
			// later mover that went down.
			pass := slices.Clone(passUp)
			for _, b := range below {
				if b > m {
					pass = append(pass, b)
				}
			}
			if ok, why := cm.commutesAll(m, pass); ok {
				above = append(above, m)
				notes = append(notes, fmt.Sprintf("move layer %d above the merge: it commutes with layers %s (%s)", m, textfmt.JoinInts(pass), why))
				continue
			}
			stuck = append(stuck, m)
		}
		if len(stuck) == 0 {
			p.Notes = append(p.Notes, notes...)
			return below, above, members
		}
		// A layer that can go neither way joins the merge; the others are
		// placed again against the larger merge.
		m := stuck[0]
		_, why := cm.commutes(m, members[0])
		p.Notes = append(p.Notes, fmt.Sprintf("merge layer %d too: it does not commute with the layers around it (%s)", m, why))
		members = append(members, m)
		slices.Sort(members)
		movers = slices.DeleteFunc(slices.Clone(movers), func(x int) bool { return x == m })
	}
}

// packageManager matches history commands that install system packages:
// such layers change less often than the application's own.
var packageManager = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf|zypper|pacman|tdnf|pip3?|npm|yarn|pnpm|gem|bundle|go mod download|cargo fetch|composer)\b`)

// reorder moves groups so that stable ones come first, swapping two
// neighbours only when every layer of one commutes with every layer of the
// other. It is a stable insertion sort on (volatility, -size): a group
// moves down past its neighbour only if it sorts strictly before it.
func (p *Plan) reorder(a *analyze.Analysis, previous []v1.Hash) {
	prev := map[v1.Hash]bool{}
	for _, h := range previous {
		prev[h] = true
	}
	cm := newCommuter(a.Changesets)
	// The history decides only when it lines up with the layers: a guess
	// must not move layers.
	history, aligned := analyze.HistoryByLayer(a.History(), len(a.Changesets))
	createdBy := func(l int) string {
		if !aligned {
			return ""
		}
		return history[l].CreatedBy
	}
	type key struct {
		volatile bool
		size     int64
		why      string
	}
	keyOf := func(g Group) key {
		k := key{}
		var whys []string
		for _, l := range g.Layers {
			k.size += a.Image.Layers[l].Size
			switch {
			case len(previous) > 0 && prev[a.Image.Layers[l].DiffID]:
				whys = append(whys, fmt.Sprintf("layer %d is in a previous build", l))
			case len(previous) > 0:
				k.volatile = true
				whys = append(whys, fmt.Sprintf("layer %d is new in this build", l))
			case packageManager.MatchString(createdBy(l)):
				whys = append(whys, fmt.Sprintf("layer %d installs packages", l))
			default:
				k.volatile = true
				whys = append(whys, fmt.Sprintf("layer %d holds application files", l))
			}
		}
		k.why = strings.Join(whys, ", ")
		return k
	}
	less := func(x, y key) bool {
		if x.volatile != y.volatile {
			return !x.volatile
		}
		return x.size > y.size
	}
	moved := false
	for i := 1; i < len(p.Groups); i++ {
		for j := i; j > 0; j-- {
			lo, hi := p.Groups[j-1], p.Groups[j]
			if lo.Layers[0] < p.Base || hi.Layers[0] < p.Base {
				break
			}
			kl, kh := keyOf(lo), keyOf(hi)
			if !less(kh, kl) {
				break
			}
			ok, why := true, ""
			for _, x := range hi.Layers {
				if ok, why = cm.commutesAll(x, lo.Layers); !ok {
					break
				}
			}
			if !ok {
				p.Notes = append(p.Notes, fmt.Sprintf("keep %s above %s: %s would sort first (%s) but they do not commute (%s)", hi, lo, hi, kh.why, why))
				break
			}
			p.Groups[j-1], p.Groups[j] = hi, lo
			moved = true
			volatility := "it is more stable"
			if kh.volatile == kl.volatile {
				volatility = "it is as stable and larger"
			}
			p.Notes = append(p.Notes, fmt.Sprintf("move %s below %s: %s (%s; %s); safe: %s", hi, lo, volatility, kh.why, kl.why, why))
		}
	}
	if !moved {
		p.Notes = append(p.Notes, "reorder: the layers are already stable-first where they commute")
	}
}

// touch is what one layer does at one path, for the commute test.
type touch struct {
	// dirOnly: every entry at the path is a directory entry; attrs holds
	// the last one's attributes. Anything else (file, whiteout, opaque
	// marker, hard link, or a read as a hard-link target) is not dirOnly.
	dirOnly bool
	attrs   string
	// readOnly: the path is only read, as a hard-link target.
	readOnly bool
}

// commuter answers whether two layers may swap places: applied in either
// order on any view they give the same view.
type commuter struct {
	touches []map[string]touch
}

func newCommuter(css []*overlay.Changeset) *commuter {
	c := &commuter{touches: make([]map[string]touch, len(css))}
	for i, cs := range css {
		m := map[string]touch{}
		if cs != nil {
			for _, e := range cs.Entries {
				t, seen := m[e.Path]
				if e.Kind == overlay.EntryDir && (!seen || t.dirOnly) {
					m[e.Path] = touch{dirOnly: true, attrs: fmt.Sprintf("%o:%d:%d:%d:%v", e.Mode, e.UID, e.GID, e.ModTime, sortedXattrs(e.Xattrs))}
				} else {
					m[e.Path] = touch{}
				}
				if e.Kind == overlay.EntryHardlink {
					if _, ok := m[e.Linkname]; !ok {
						m[e.Linkname] = touch{readOnly: true}
					}
				}
			}
		}
		c.touches[i] = m
	}
	return c
}

func (c *commuter) commutesAll(x int, ys []int) (bool, string) {
	if len(ys) == 0 {
		return true, "nothing to pass"
	}
	for _, y := range ys {
		if ok, why := c.commutes(x, y); !ok {
			return false, why
		}
	}
	return true, "no path of one touches a path, parent or whiteout of the other"
}

// commutes tests layers x and y. Two layers conflict at a path both touch
// (unless both only set a directory's identical attributes, or both only
// read it), and where one touches an ancestor of a path of the other with
// anything but a directory entry: a directory entry at a parent merges the
// same way in either order, a file, whiteout or opaque marker does not.
func (c *commuter) commutes(x, y int) (bool, string) {
	a, b := c.touches[x], c.touches[y]
	if len(a) > len(b) {
		a, b = b, a
		x, y = y, x
	}
	check := func(p string, t touch, other map[string]touch, ox int) (bool, string) {
		if u, ok := other[p]; ok {
			switch {
			case t.readOnly && u.readOnly:
			case t.dirOnly && u.dirOnly && t.attrs == u.attrs:
			default:
				return false, fmt.Sprintf("both touch %s", p)
			}
		}
		for anc := parentOf(p); anc != ""; anc = parentOf(anc) {
			if u, ok := other[anc]; ok && !u.dirOnly && !u.readOnly {
				return false, fmt.Sprintf("layer %d changes %s, a parent of %s", ox, anc, p)
			}
		}
		return true, ""
	}
	for p, t := range a {
		if ok, why := check(p, t, b, y); !ok {
			return false, why
		}
	}
	// b's paths against a's ancestors: the equal paths were checked above.
	for p := range b {
		for anc := parentOf(p); anc != ""; anc = parentOf(anc) {
			if u, ok := a[anc]; ok && !u.dirOnly && !u.readOnly {
				return false, fmt.Sprintf("layer %d changes %s, a parent of %s", x, anc, p)
			}
		}
	}
	return true, "no shared path"
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

func sortedXattrs(x map[string]string) []string {
	out := make([]string, 0, len(x))
	for k, v := range x {
		out = append(out, k+"="+strconv.Quote(v))
	}
	slices.Sort(out)
	return out
}

// stripMatchesSomething checks that every glob compiles and every glob and
// path names something in the final view: a strip that removes nothing is
// a mistake (a typo, another dialect) that would otherwise pass silently.
func stripMatchesSomething(files []overlay.File, globs, paths []string) error {
	for _, g := range globs {
		c, err := pathglob.Compile(g)
		if err != nil {
			return fmt.Errorf("strip pattern %q: %w: %w", g, err, ErrBadPlan)
		}
		if !slices.ContainsFunc(files, func(f overlay.File) bool { return c.Match(f.Path) }) {
			return planErrorf(OptionNone, "strip pattern %q matches nothing in the image", g)
		}
	}
	for _, p := range paths {
		if !slices.ContainsFunc(files, func(f overlay.File) bool { return f.Path == p }) {
			return planErrorf(OptionNone, "strip path %q is not in the image", p)
		}
	}
	return nil
}
