package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/squash"
)

// TestAdvice: the libraries' typed errors name no flag; the CLI adds the
// flag that changes the outcome, at the end of the message.
func TestAdvice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		flag string
	}{
		{&analyze.CapError{Limit: analyze.LimitLayerBytes, Err: analyze.ErrCapExceeded}, "--max-layer-bytes"},
		{&analyze.CapError{Limit: analyze.LimitImageBytes, Err: analyze.ErrCapExceeded}, "--max-image-bytes"},
		{&analyze.CapError{Limit: analyze.LimitLayerEntries, Err: analyze.ErrCapExceeded}, "--max-layer-entries"},
		{source.ErrSaveTooLarge, "--max-save-bytes"},
		{&squash.PlanError{Option: squash.OptionPlatform}, "--platform"},
		{&squash.PlanError{Option: squash.OptionTags}, "--tag"},
		{&squash.PlanError{Option: squash.OptionBaseLayers}, "--base-layers"},
		{&squash.PlanError{Option: squash.OptionMode}, "--squash"},
		{&squash.PlanError{Option: squash.OptionInPlace}, "--in-place"},
		{&squash.PlanError{Option: squash.OptionNotInPlace}, "--in-place"},
		{&squash.PlanError{Option: squash.OptionNone}, ""},
	}
	for _, tt := range tests {
		err := fmt.Errorf("planning x: %w", tt.err)
		got := advice(err)
		if tt.flag == "" && got != "" || !strings.Contains(got, tt.flag) {
			t.Errorf("advice(%v) = %q, want it to name %q", err, got, tt.flag)
		}
	}
}
