package squash

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/layerlint/layerlint/overlay"
)

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
			for _, e := range cs.All() {
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

func sortedXattrs(x map[string]string) []string {
	out := make([]string, 0, len(x))
	for k, v := range x {
		out = append(out, k+"="+strconv.Quote(v))
	}
	slices.Sort(out)
	return out
}
