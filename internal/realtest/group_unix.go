//go:build unix

package realtest

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that its children
// stop with it.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup asks the group of the process pid (started by ownGroup) to
// stop: SIGTERM, or SIGKILL when kill is set.
func signalGroup(_ *exec.Cmd, pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
}
