package overlay

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Difference is one disagreement between two merged views.
type Difference struct {
	Path string
	// Field names what differs: "missing" (only in Want), "extra" (only in
	// Got), or an attribute: "type", "mode", "uid", "gid", "size", "hash",
	// "linkname", "device", "xattrs", "link".
	Field     string
	Want, Got string
}

func (d Difference) String() string {
	switch d.Field {
	case "missing":
		return fmt.Sprintf("%s: missing (want %s)", d.Path, d.Want)
	case "extra":
		return fmt.Sprintf("%s: unexpected (got %s)", d.Path, d.Got)
	}
	return fmt.Sprintf("%s: %s differs: want %s, got %s", d.Path, d.Field, d.Want, d.Got)
}

// CompareOptions selects the attributes Compare looks at beyond the ones it
// always compares (path, type, mode, uid, gid, size, hash, link target and
// device numbers).
type CompareOptions struct {
	// Xattrs compares extended attributes.
	Xattrs bool
	// LinkGroups compares hard-link groups: two paths that share an inode
	// in one view must share one in the other.
	LinkGroups bool
	// ModTime compares modification times.
	ModTime bool
}

// Compare lists the differences between two merged views, by path. Both
// slices may be in any order. The providing layer never counts: two stacks
// that show the same files are the same container.
func Compare(want, got []File, opts CompareOptions) []Difference {
	wm := make(map[string]*File, len(want))
	for i := range want {
		wm[want[i].Path] = &want[i]
	}
	gm := make(map[string]*File, len(got))
	for i := range got {
		gm[got[i].Path] = &got[i]
	}
	paths := slices.Sorted(maps.Keys(wm))
	for p := range gm {
		if _, ok := wm[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	wl, gl := linkLeaders(want), linkLeaders(got)
	var diffs []Difference
	for _, p := range paths {
		w, g := wm[p], gm[p]
		switch {
		case g == nil:
			diffs = append(diffs, Difference{Path: p, Field: "missing", Want: w.Type.String()})
			continue
		case w == nil:
			diffs = append(diffs, Difference{Path: p, Field: "extra", Got: g.Type.String()})
			continue
		}
		add := func(field, a, b string) {
			if a != b {
				diffs = append(diffs, Difference{Path: p, Field: field, Want: a, Got: b})
			}
		}
		add("type", w.Type.String(), g.Type.String())
		if w.Type != g.Type {
			continue
		}
		add("mode", fmt.Sprintf("%04o", w.Mode), fmt.Sprintf("%04o", g.Mode))
		add("uid", strconv.Itoa(w.UID), strconv.Itoa(g.UID))
		add("gid", strconv.Itoa(w.GID), strconv.Itoa(g.GID))
		add("size", strconv.FormatInt(w.Size, 10), strconv.FormatInt(g.Size, 10))
		add("hash", w.Hash.String(), g.Hash.String())
		add("linkname", strconv.Quote(w.Linkname), strconv.Quote(g.Linkname))
		add("device", fmt.Sprintf("%d:%d", w.Devmajor, w.Devminor), fmt.Sprintf("%d:%d", g.Devmajor, g.Devminor))
		if opts.Xattrs {
			add("xattrs", fmt.Sprint(sortedXattrs(w.Xattrs)), fmt.Sprint(sortedXattrs(g.Xattrs)))
		}
		if opts.ModTime {
			add("mtime", strconv.FormatInt(w.ModTime, 10), strconv.FormatInt(g.ModTime, 10))
		}
		if opts.LinkGroups {
			add("link", wl[p], gl[p])
		}
	}
	return diffs
}

// linkLeaders maps each hard-linked path to the smallest path of its group,
// so that groups compare independently of how each view numbers them.
func linkLeaders(files []File) map[string]string {
	leader := map[uint64]string{}
	for _, f := range files {
		if f.Link == 0 {
			continue
		}
		if l, ok := leader[f.Link]; !ok || f.Path < l {
			leader[f.Link] = f.Path
		}
	}
	out := make(map[string]string, len(leader))
	for _, f := range files {
		if f.Link != 0 {
			out[f.Path] = leader[f.Link]
		}
	}
	return out
}

func sortedXattrs(x map[string]string) []string {
	keys := slices.Sorted(maps.Keys(x))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+strconv.Quote(x[k]))
	}
	return out
}
