//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package squash

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the owner of a file that was stat'ed.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
