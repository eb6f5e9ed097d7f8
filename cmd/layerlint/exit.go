package main

import (
	"errors"
	"syscall"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/engine"
	"github.com/layerlint/layerlint/internal/kernel"
)

// Exit codes, documented in docs/exit-codes.md. They are part of the CLI's
// contract: scripts and CI gates branch on them.
const (
	// ExitOK: success; for lint, nothing reached the failure level.
	ExitOK = 0
	// ExitFailed: the check ran and failed: lint findings at the failure
	// level, or a verification (--verify, fix) found a difference.
	ExitFailed = 1
	// ExitInput: a usage error, or an image that cannot be read.
	ExitInput = 2
	// ExitIntegrity: a blob's digest, size or diff_id does not match.
	ExitIntegrity = 3
	// ExitEnvironment: the machine cannot do what was asked (mounting
	// without root, no overlayfs, not Linux, a full disk).
	ExitEnvironment = 4
)

// errSilent marks an error already reported to the user (a failed check
// whose findings were printed): run exits with its code without printing.
var errSilent = errors.New("already reported")

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, source.ErrDigestMismatch):
		return ExitIntegrity
	case errors.Is(err, source.ErrUnreachable), errors.Is(err, engine.ErrUnreachable):
		return ExitEnvironment
	case errors.Is(err, kernel.ErrNotPermitted), errors.Is(err, kernel.ErrNoOverlay), errors.Is(err, kernel.ErrUnsupported),
		errors.Is(err, kernel.ErrNotOurs), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		// A full disk or quota is the machine's state, not the image's
		// fault: checked before the input errors that may wrap it.
		return ExitEnvironment
	case errors.Is(err, analyze.ErrCapExceeded):
		return ExitInput
	}
	return ExitInput
}
