//go:build unix

package layercache

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// flockNB takes an exclusive advisory lock on f without waiting; false
// when another open file holds it.
func flockNB(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOLCK), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
			return false, errNoFileLocks // a file system without locks (some network mounts)
		default:
			return false, err
		}
	}
}
