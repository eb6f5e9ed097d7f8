package squash

import (
	"fmt"
	"slices"

	"github.com/layerlint/layerlint/internal/pathglob"
	"github.com/layerlint/layerlint/overlay"
)

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

// stripMatcher reports whether a path is dropped by the globs (checked by
// NewPlan, gitignore-style as in .layerlint.yaml) or the exact paths: a
// glob or a path matches the path or one of its ancestors (so "var/cache"
// drops the whole directory).
func stripMatcher(globs, paths []string) func(string) bool {
	if len(globs) == 0 && len(paths) == 0 {
		return func(string) bool { return false }
	}
	exact := make(map[string]bool, len(paths))
	for _, p := range paths {
		exact[p] = true
	}
	var compiled []pathglob.Glob
	for _, g := range globs {
		if c, err := pathglob.Compile(g); err == nil {
			compiled = append(compiled, c)
		}
	}
	return func(p string) bool {
		for q := p; q != ""; q = parentOf(q) {
			if exact[q] || slices.ContainsFunc(compiled, func(g pathglob.Glob) bool { return g.Match(q) }) {
				return true
			}
		}
		return false
	}
}
