package safefs

import (
	"io/fs"
	"slices"
	"strings"
)

func sortEntries(e []fs.DirEntry) {
	slices.SortFunc(e, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
