package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units maps a lower-cased size suffix to its multiplier. SI units are
// powers of 1000 and IEC units powers of 1024. Case is ignored, as dive's
// parser ignores it: "20Mb" is 20,000,000 bytes, not megabits.
var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30,
	"ti": 1 << 40, "tib": 1 << 40, "pi": 1 << 50, "pib": 1 << 50,
}

// errSyntax is wrapped by every value that does not parse, so callers can
// tell a bad value from a bad file.
var errSyntax = errors.New("invalid value")

// ParseSize reads a byte count: a plain number of bytes ("1048576") or a
// number with an SI unit ("10MB", "1.5 GB": powers of 1000) or an IEC unit
// ("10MiB": powers of 1024), case-insensitive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := units[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with a unit such as kB, MB, GB or KiB, MiB, GiB: %w", s, errSyntax)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, errSyntax)
	}
	v := math.Round(f * mult)
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large: %w", s, errSyntax)
	}
	return int64(v), nil
}

// ParseRatio reads a fraction: "5%" or "0.05". A bare number above 1 is an
// error rather than a guess at a percent.
func ParseRatio(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("ratio %q: want a fraction such as 0.05 or a percentage such as 5%%: %w", s, errSyntax)
	}
	if pct {
		f /= 100
	}
	if f < 0 || f > 1 {
		if !pct {
			return 0, fmt.Errorf("ratio %q is not between 0 and 1 (write %s%% for a percentage): %w", s, t, errSyntax)
		}
		return 0, fmt.Errorf("ratio %q is not between 0%% and 100%%: %w", s, errSyntax)
	}
	return f, nil
}
