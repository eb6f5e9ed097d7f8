//go:build unix && !linux

package safefs

import "syscall"

const noFollow = syscall.O_NOFOLLOW
