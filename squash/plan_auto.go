package squash

import (
	"fmt"
	"slices"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/textfmt"
)

// auto finds merges that remove every wasted byte shipped above the base:
// a version shipped by layer s and hidden by layer h is gone once s and h
// are in one merged layer. Layers between them that are not involved are
// moved below or above the merge when they commute with the layers they
// pass, and merged in otherwise.
func (p *Plan) auto(a *analyze.Analysis) {
	n := len(a.Changesets)
	uf := newUnionFind(n)
	needs := make([]bool, n) // layers taking part in a merge or rewrite
	var wasted int64
	for _, w := range a.Model.Waste() {
		if w.Layer < p.Base {
			continue // shipped by the base: stays shared
		}
		needs[w.Layer], needs[w.HiddenBy] = true, true
		uf.union(w.Layer, w.HiddenBy)
		wasted += w.Size
	}
	if wasted == 0 {
		p.Notes = append(p.Notes, "no waste above the base: nothing to squash")
		return
	}
	cm := newCommuter(a.Changesets)
	for mergeOverlappingSpans(uf, needs, p.Base) {
		// again, against the grown components
	}
	var groups []Group
	for i := 0; i < n; {
		if i < p.Base || !needs[i] {
			groups = append(groups, Group{Layers: []int{i}})
			i++
			continue
		}
		var end int
		groups, end = p.mergeGroup(groups, cm, uf, needs, i)
		i = end + 1
	}
	p.Groups = groups
}

// unionFind is a disjoint-set forest over layer indexes.
type unionFind []int

func newUnionFind(n int) unionFind {
	parent := make(unionFind, n)
	for i := range parent {
		parent[i] = i
	}
	return parent
}

func (u unionFind) find(x int) int {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(x, y int) { u[u.find(x)] = u.find(y) }

// mergeOverlappingSpans joins one component into another whose span it
// lies inside, and reports whether it did: a merged layer must be
// contiguous, and two interleaved ones cannot both be. Call it until it
// reports false.
func mergeOverlappingSpans(uf unionFind, needs []bool, base int) bool {
	span := map[int][2]int{}
	for i := base; i < len(needs); i++ {
		if !needs[i] {
			continue
		}
		r := uf.find(i)
		s, ok := span[r]
		if !ok {
			s = [2]int{i, i}
		}
		s[0], s[1] = min(s[0], i), max(s[1], i)
		span[r] = s
	}
	for i := base; i < len(needs); i++ {
		if !needs[i] {
			continue
		}
		for r, s := range span {
			if s[0] < i && i < s[1] && uf.find(i) != r {
				uf.union(i, r)
				return true
			}
		}
	}
	return false
}

// mergeGroup appends the groups for the merge whose first layer is i: the
// layers moved below it, the merged layer, the layers moved above it. It
// returns the groups and the last layer of the merge's span.
func (p *Plan) mergeGroup(groups []Group, cm *commuter, uf unionFind, needs []bool, i int) ([]Group, int) {
	r := uf.find(i)
	end := i
	for j := i; j < len(needs); j++ {
		if needs[j] && uf.find(j) == r {
			end = j
		}
	}
	var members, movers []int
	for j := i; j <= end; j++ {
		if needs[j] && uf.find(j) == r {
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
	return groups, end
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
