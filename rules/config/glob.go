package config

import (
	"fmt"

	"github.com/layerlint/layerlint/internal/pathglob"
)

// Glob matches image paths, gitignore-style: each segment of the pattern
// is matched with path.Match against one path segment, a "**" segment
// matches any number of segments, and a pattern without a "/" matches the
// last segment at any depth ("*.log" matches "var/log/app.log"). It is
// the one glob dialect of layerlint: fix --strip uses it too.
type Glob struct{ pathglob.Glob }

// CompileGlob checks a pattern. A leading "/" is dropped: patterns are
// relative to the image root whichever way they are written.
func CompileGlob(pattern string) (Glob, error) {
	g, err := pathglob.Compile(pattern)
	if err != nil {
		return Glob{}, fmt.Errorf("%w: %w", err, errSyntax)
	}
	return Glob{g}, nil
}
