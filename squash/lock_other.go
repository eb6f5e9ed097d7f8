//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package squash

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// flock is a no-op where flock(2) does not exist: concurrent in-place
// runs are not excluded there (docs/fix.md says so).
func flock(*os.File) error { return nil }
