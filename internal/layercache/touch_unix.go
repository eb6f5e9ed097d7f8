//go:build unix

package layercache

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// touch marks the open entry f as just used (its mtime orders the LRU);
// a failure only ages the entry.
func touch(f *os.File) {
	now := unix.NsecToTimeval(time.Now().UnixNano())
	_ = unix.Futimes(int(f.Fd()), []unix.Timeval{now, now})
}
