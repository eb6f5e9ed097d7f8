//go:build !unix

package realtest

import "os/exec"

// ownGroup does nothing where there are no process groups.
func ownGroup(*exec.Cmd) {}

// signalGroup kills the process itself: there is no group to signal and
// no SIGTERM.
func signalGroup(cmd *exec.Cmd, _ int, _ bool) { _ = cmd.Process.Kill() }
