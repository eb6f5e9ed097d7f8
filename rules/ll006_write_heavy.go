package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/overlay"
)

func writeHeavyPaths() Rule {
	return Rule{
		ID:       "LL006",
		Name:     "write-heavy-paths",
		Severity: Info,
		Summary:  "Logs, database files or temporary files are baked into a layer where the container will write.",
		Doc: "A container writes through overlayfs: the first write to a file from a layer copies " +
			"the whole file up to the container's writable layer, so a large log or database file " +
			"costs its full size in time and disk on first write, in every container. Such paths " +
			"also usually hold state that belongs outside the image. Leave them empty in the image " +
			"and declare a VOLUME (or mount one at run time). Example: a `postgres` image that runs " +
			"`initdb` at build time ships /var/lib/postgresql; run it at start-up into " +
			"`VOLUME /var/lib/postgresql/data` instead. The finding reports the largest file of " +
			"each kind: its size is the copy-up cost. Paths under a declared VOLUME are LL007's. " +
			"To see the cost measured rather than inferred, run `layerlint mount --probe-copy-up PATH " +
			"--probe-output probe.json IMAGE DIR` as root, then `layerlint lint --copy-up probe.json IMAGE`: " +
			"the finding then quotes the bytes the kernel copied up and the time it took.",
		Check: checkWriteHeavy,
	}
}

// writeHeavy is one kind of path that containers write to.
type writeHeavy struct {
	what  string
	match func(p string) bool
}

func writeHeavyKinds() []writeHeavy {
	ext := func(exts ...string) func(string) bool {
		return func(p string) bool { return slices.Contains(exts, path.Ext(p)) }
	}
	return []writeHeavy{
		{"log files", func(p string) bool { return under("var/log")(p) || path.Ext(p) == ".log" }},
		{"PostgreSQL data", under("var/lib/postgresql")},
		{"MySQL data", under("var/lib/mysql")},
		{"MongoDB data", under("data/db")},
		{"Redis data", under("var/lib/redis")},
		{"database files", func(p string) bool {
			// The package database (rpmdb.sqlite on Fedora) is read-only
			// at run time and belongs in the image.
			return ext(".sqlite", ".sqlite3", ".db")(p) && !under("var/lib/rpm")(p) && !under("usr/lib/sysimage/rpm")(p)
		}},
		{"temporary files", func(p string) bool { return under("tmp")(p) || under("var/tmp")(p) }},
	}
}

func checkWriteHeavy(f *Facts) []Finding {
	vols := volumes(f)
	var out []Finding
	for _, k := range writeHeavyKinds() {
		var files int
		var largest *overlay.File
		for i := range f.Files {
			fl := &f.Files[i]
			if fl.Type != overlay.TypeRegular || !k.match(fl.Path) || underAny(fl.Path, vols) {
				continue
			}
			files++
			if largest == nil || fl.Size > largest.Size {
				largest = fl
			}
		}
		if largest == nil {
			continue
		}
		msg := fmt.Sprintf("%s: %s in the image; the largest, %s (%d bytes), is copied up whole on first write",
			k.what, textfmt.Plural(files, "file", "files"), abs(largest.Path), largest.Size)
		if m, ok := f.CopyUp[largest.Path]; ok {
			msg += fmt.Sprintf(" (measured on overlayfs: appending one byte copied up %d bytes in %s)", m.CopiedBytes, m.Duration.Round(time.Microsecond))
		}
		out = append(out, Finding{
			Rule:      "LL006",
			Severity:  Info,
			Message:   msg,
			Layer:     largest.Layer,
			Path:      largest.Path,
			Bytes:     largest.Size,
			CreatedBy: f.createdBy(largest.Layer),
			Fix:       fmt.Sprintf("do not write %s at build time; declare VOLUME %s or mount one at run time", k.what, abs(path.Dir(largest.Path))),
		})
	}
	return sorted(out)
}

// volumes returns the image's declared VOLUME paths as model paths
// (cleaned, no leading "/"), sorted.
func volumes(f *Facts) []string {
	if f.Image == nil || f.Image.Config == nil {
		return nil
	}
	var vs []string
	for v := range f.Image.Config.Config.Volumes {
		p, ok := overlay.CleanPath(v)
		if !ok || p == "" {
			continue // the root or a path that climbs: nothing to check
		}
		vs = append(vs, p)
	}
	slices.Sort(vs)
	return slices.Compact(vs)
}

// underAny reports whether p is strictly below one of dirs.
func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
