// Package pathglob is the one glob dialect of layerlint, for image paths:
// .layerlint.yaml (ignore, suppressions) and fix --strip both use it. It
// is gitignore-style: "*.log" matches at any depth, "var/cache" from the
// root, "**" any number of segments.
package pathglob

import (
	"fmt"
	"path"
	"strings"
)

// Glob matches image paths (slash-separated, relative to the root, no
// leading "/"). Each segment of the pattern is matched with path.Match
// against one path segment; a "**" segment matches any number of segments,
// none included. A pattern without a "/" matches the last segment at any
// depth, as in .gitignore: "*.log" matches "var/log/app.log".
type Glob struct {
	pattern string
	segs    []string
}

// Compile checks a pattern. A leading "/" is dropped: patterns are
// relative to the image root whichever way they are written.
func Compile(pattern string) (Glob, error) {
	p := strings.Trim(strings.TrimSpace(pattern), "/")
	if p == "" {
		return Glob{}, fmt.Errorf("empty path pattern %q", pattern)
	}
	segs := strings.Split(p, "/")
	if len(segs) == 1 && segs[0] != "**" {
		segs = []string{"**", segs[0]}
	}
	for _, s := range segs {
		if s == "" {
			return Glob{}, fmt.Errorf("path pattern %q has an empty segment", pattern)
		}
		if _, err := path.Match(s, ""); err != nil {
			return Glob{}, fmt.Errorf("path pattern %q: %w", pattern, err)
		}
	}
	return Glob{pattern: pattern, segs: segs}, nil
}

// String returns the pattern as written.
func (g Glob) String() string { return g.pattern }

// Match reports whether p matches. The empty path (a finding about the
// whole image) matches no pattern.
func (g Glob) Match(p string) bool {
	p = strings.Trim(p, "/")
	if p == "" || len(g.segs) == 0 {
		return false
	}
	return matchSegs(g.segs, strings.Split(p, "/"))
}

// matchSegs is the classic two-pointer wildcard match with "**" as the
// star: on a mismatch it backtracks to the last "**" and lets it swallow one
// more segment, so it runs in O(len(pat)·len(name)) without recursion.
func matchSegs(pat, name []string) bool {
	pi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(name) {
		switch {
		case pi < len(pat) && pat[pi] == "**":
			star, mark = pi, ni
			pi++
		case pi < len(pat) && segMatch(pat[pi], name[ni]):
			pi++
			ni++
		case star >= 0:
			mark++
			pi, ni = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == "**" {
		pi++
	}
	return pi == len(pat)
}

func segMatch(pat, seg string) bool {
	ok, err := path.Match(pat, seg)
	return err == nil && ok
}
