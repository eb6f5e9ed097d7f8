package diff

import (
	"cmp"
	"path"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

// compareFiles walks both merged views, sorted by path, in step.
func compareFiles(om, nm *overlay.Model) Files {
	var of, nf []overlay.File
	if om != nil {
		of = om.Files()
	}
	if nm != nil {
		nf = nm.Files()
	}
	byPath := func(a, b overlay.File) int { return strings.Compare(a.Path, b.Path) }
	slices.SortFunc(of, byPath)
	slices.SortFunc(nf, byPath)
	var fs Files
	dirs := map[string]*Dir{}
	add := func(c Change) {
		switch c.Kind {
		case Appeared:
			fs.Added++
			fs.AddedBytes += c.New
		case Vanished:
			fs.Removed++
			fs.RemovedBytes += c.Old
		case Modified:
			fs.Changed++
			fs.ChangedBytes += c.New - c.Old
		}
		key := dirKey(c.Path)
		d := dirs[key]
		if d == nil {
			d = &Dir{Path: key}
			dirs[key] = d
		}
		switch c.Kind {
		case Appeared:
			d.Added++
		case Vanished:
			d.Removed++
		case Modified:
			d.Changed++
		}
		d.Delta += c.New - c.Old
		c.Path = "/" + c.Path
		d.Largest = append(d.Largest, c)
	}
	// Directories are left out: the files under them tell the change,
	// and a rebuild touches every directory's metadata.
	isDir := func(f overlay.File) bool { return f.Type == overlay.TypeDir }
	of = slices.DeleteFunc(of, isDir)
	nf = slices.DeleteFunc(nf, isDir)
	i, j := 0, 0
	for i < len(of) || j < len(nf) {
		switch {
		case j == len(nf) || (i < len(of) && of[i].Path < nf[j].Path):
			add(Change{Path: of[i].Path, Kind: Vanished, Old: of[i].Size, OldLink: linkOf(&of[i])})
			i++
		case i == len(of) || nf[j].Path < of[i].Path:
			add(Change{Path: nf[j].Path, Kind: Appeared, New: nf[j].Size, NewLink: linkOf(&nf[j])})
			j++
		default:
			if !sameFile(&of[i], &nf[j]) {
				add(Change{Path: nf[j].Path, Kind: Modified, Old: of[i].Size, New: nf[j].Size, OldLink: linkOf(&of[i]), NewLink: linkOf(&nf[j])})
			}
			i++
			j++
		}
	}
	all := make([]Dir, 0, len(dirs))
	for _, d := range dirs {
		slices.SortStableFunc(d.Largest, func(a, b Change) int {
			return cmp.Or(cmp.Compare(abs(b.New-b.Old), abs(a.New-a.Old)), strings.Compare(a.Path, b.Path))
		})
		d.Largest = d.Largest[:min(len(d.Largest), MaxDirPaths)]
		d.Path = displayDir(d.Path)
		all = append(all, *d)
	}
	slices.SortFunc(all, func(a, b Dir) int {
		return cmp.Or(cmp.Compare(abs(b.Delta), abs(a.Delta)),
			cmp.Compare(b.Added+b.Removed+b.Changed, a.Added+a.Removed+a.Changed), strings.Compare(a.Path, b.Path))
	})
	if len(all) > MaxDirs {
		fs.DirsMore = len(all) - MaxDirs
		all = all[:MaxDirs]
	}
	fs.Dirs = all
	return fs
}

// sameFile compares what a container sees of a path: type, content,
// mode, owner, link target, device numbers. Times are left out: a rebuild
// changes them all and nothing else.
func sameFile(a, b *overlay.File) bool {
	return a.Type == b.Type && a.Size == b.Size && a.Hash == b.Hash && a.Mode == b.Mode &&
		a.UID == b.UID && a.GID == b.GID && a.Linkname == b.Linkname &&
		a.Devmajor == b.Devmajor && a.Devminor == b.Devminor
}

// linkOf is f's target when f is a symlink, else "".
func linkOf(f *overlay.File) string {
	if f.Type == overlay.TypeSymlink {
		return f.Linkname
	}
	return ""
}

// dirKey is the first dirDepth components of p's directory.
func dirKey(p string) string {
	dir := path.Dir(p)
	if dir == "." {
		return ""
	}
	parts := strings.SplitN(dir, "/", dirDepth+1)
	return strings.Join(parts[:min(len(parts), dirDepth)], "/")
}

func displayDir(d string) string {
	if d == "" {
		return "/"
	}
	return "/" + d + "/"
}
