// Package textfmt holds the small text helpers every report writer of
// layerlint shares (analyze's text report, the lint formats, the gate's
// messages, fix's notes), so that each is written once and they agree.
// Escaping of image-controlled text is internal/escape's job, not this.
package textfmt

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Writer keeps the first write error, so that rendering code can print
// freely, stay linear, and check Err once at the end.
type Writer struct {
	W   io.Writer
	Err error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{W: w} }

// Write writes p unless an earlier write failed.
func (e *Writer) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
	return n, err
}

// Printf formats to the writer; a failure is kept in Err.
func (e *Writer) Printf(format string, args ...any) { _, _ = fmt.Fprintf(e, format, args...) }

// Painter adds ANSI colours when true. The CLI sets it only on a terminal
// without NO_COLOR.
type Painter bool

// Paint wraps s in the SGR code (e.g. "1;31"); the empty string stays
// empty.
func (p Painter) Paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold paints s bold.
func (p Painter) Bold(s string) string { return p.Paint("1", s) }

// Warn paints s yellow.
func (p Painter) Warn(s string) string { return p.Paint("33", s) }

// Dim paints s faint.
func (p Painter) Dim(s string) string { return p.Paint("2", s) }

// Bytes formats a size in SI units (1 kB = 1000 B), as registries and
// docker show them: the one unit convention of every report and of the
// progress display.
func Bytes(n int64) string {
	const unit = 1000
	if n < unit && n > -unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	// An int64 stops at 9.2 EB: EB is the last unit needed.
	units := [...]string{"kB", "MB", "GB", "TB", "PB", "EB"}
	f, i := float64(n)/unit, 0
	for (f >= unit || f <= -unit) && i < len(units)-1 {
		f /= unit
		i++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
}

// Percent formats a ratio as a percentage with one decimal: 0.1234 is
// "12.3%".
func Percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// Plural returns "1 file" or "3 files".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// JoinInts joins layer indexes with commas: "0,2,3".
func JoinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// ParseName returns the value of all whose String is s, or an error
// naming what was read and listing the names: how a command-line flag
// picks one of an enum's values.
func ParseName[T fmt.Stringer](what, s string, all []T) (T, error) {
	names := make([]string, 0, len(all))
	for _, v := range all {
		if v.String() == s {
			return v, nil
		}
		names = append(names, v.String())
	}
	var zero T
	return zero, fmt.Errorf("%s %q: want one of %s", what, s, strings.Join(names, ", "))
}
