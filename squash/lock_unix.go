//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package squash

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = syscall.EWOULDBLOCK

// flock takes an exclusive advisory lock on f without waiting. The kernel
// lets go of it when f is closed or the process dies, even by SIGKILL.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
