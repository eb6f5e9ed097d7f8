//go:build !unix

package safefs

// noFollow is zero where open has no O_NOFOLLOW; Lstat checks the name
// before it is opened instead.
const noFollow = 0
