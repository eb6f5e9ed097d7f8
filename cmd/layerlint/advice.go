package main

import (
	"errors"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/squash"
)

// advice returns what to add to the message of err to say which flag
// changes the outcome: the libraries return typed errors that name no
// flag, and only the CLI knows its flags.
func advice(err error) string {
	if errors.Is(err, source.ErrSaveTooLarge) {
		return " (raise it with --max-save-bytes)"
	}
	var ce *analyze.CapError
	if errors.As(err, &ce) {
		switch ce.Limit {
		case analyze.LimitLayerBytes:
			return " (raise it with --max-layer-bytes)"
		case analyze.LimitImageBytes:
			return " (raise it with --max-image-bytes)"
		case analyze.LimitLayerEntries:
			return " (raise it with --max-layer-entries)"
		case analyze.LimitPath:
			return " (raise it with --max-path-bytes or --max-path-depth)"
		}
	}
	var pe *squash.PlanError
	if errors.As(err, &pe) {
		switch pe.Option {
		case squash.OptionPlatform:
			return " (select one with --platform)"
		case squash.OptionTags:
			return " (give --tag REPO:TAG)"
		case squash.OptionBaseLayers:
			return " (say --base-layers to change where the base ends)"
		case squash.OptionMode:
			return " (use --squash auto or --squash all)"
		case squash.OptionInPlace:
			return " (or fix the source with --in-place)"
		case squash.OptionNotInPlace:
			return " (--in-place needs an OCI layout directory)"
		case squash.OptionNone:
		}
	}
	return ""
}
