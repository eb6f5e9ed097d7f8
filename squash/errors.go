package squash

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrBadPlan: the options ask for something that cannot be done
	// safely (a range touching the base, a bad range, a reorder of
	// layers that do not commute, a squash of an absent foreign layer).
	ErrBadPlan = errors.New("cannot plan this rewrite")
)

// Option names a choice of the caller that would change the outcome of a
// PlanError. The library names no command-line flag: a front end turns
// the option into advice in its own words.
type Option uint8

// Options a PlanError may point at.
const (
	// OptionNone: nothing the caller chose would help.
	OptionNone Option = iota
	// OptionPlatform: choose one image (platform) of the source.
	OptionPlatform
	// OptionTags: name the new image (Target.Tags).
	OptionTags
	// OptionBaseLayers: say where the base image ends (Options.BaseLayers).
	OptionBaseLayers
	// OptionMode: squash by mode (SquashAuto, SquashAll) rather than by
	// explicit ranges.
	OptionMode
	// OptionInPlace: update the source layout in place (OutputInPlace)
	// rather than writing a new output.
	OptionInPlace
	// OptionNotInPlace: an in-place fix needs an OCI layout directory as
	// its source; write a new output instead.
	OptionNotInPlace
)

// PlanError is a rewrite that cannot be done as asked. errors.Is(err,
// ErrBadPlan) holds for it.
type PlanError struct {
	// Reason says what is wrong, naming no command-line flag.
	Reason string
	// Option is what the caller could change.
	Option Option
}

func (e *PlanError) Error() string { return e.Reason + ": " + ErrBadPlan.Error() }

// Unwrap makes errors.Is(err, ErrBadPlan) hold.
func (e *PlanError) Unwrap() error { return ErrBadPlan }

// planErrorf returns a PlanError pointing at opt.
func planErrorf(opt Option, format string, args ...any) *PlanError {
	return &PlanError{Reason: fmt.Sprintf(format, args...), Option: opt}
}
