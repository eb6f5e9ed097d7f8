//go:build !unix

package userfile

// openFlags is zero where open has no O_NONBLOCK; the type check after the
// open still refuses what is not a regular file.
const openFlags = 0
