//go:build unix

package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func mkfifo(t *testing.T, p string) {
	t.Helper()
	noErr(t, unix.Mkfifo(p, 0o644))
}
