//go:build unix

package userfile

import "syscall"

// openFlags makes open return at once on a FIFO with no writer.
const openFlags = syscall.O_NONBLOCK
