package source

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// platformMode says how Options.Platform selects among the manifests of an
// index.
type platformMode uint8

const (
	// platformHost: no option given; pick the host's platform.
	platformHost platformMode = iota + 1
	// platformExplicit: pick the given os/arch[/variant].
	platformExplicit
	// platformAll: keep every platform.
	platformAll
)

type platformSpec struct {
	mode platformMode
	want v1.Platform
}

func (p platformSpec) String() string {
	switch p.mode {
	case platformHost:
		return "host platform " + p.want.String()
	case platformExplicit:
		return "platform " + p.want.String()
	case platformAll:
		return "all platforms"
	}
	return "platform mode " + fmt.Sprint(uint8(p.mode))
}

// parsePlatform parses Options.Platform: "" (the host), "all", or
// os/arch[/variant][:osversion].
func parsePlatform(s string) (platformSpec, error) {
	switch s {
	case "":
		return platformSpec{mode: platformHost, want: v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}}, nil
	case "all":
		return platformSpec{mode: platformAll}, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return platformSpec{}, fmt.Errorf("parsing platform %q: %w: %w", s, ErrInvalid, err)
	}
	if p.OS == "" || p.Architecture == "" || strings.ContainsAny(s, " \t") {
		return platformSpec{}, fmt.Errorf("parsing platform %q: want os/arch[/variant]: %w", s, ErrInvalid)
	}
	return platformSpec{mode: platformExplicit, want: normalizePlatform(*p)}, nil
}

// normalizePlatform drops the variants that mean "the baseline" so that
// linux/arm64 matches linux/arm64/v8 (as containerd's platforms package does).
func normalizePlatform(p v1.Platform) v1.Platform {
	switch {
	case p.Architecture == "arm64" && p.Variant == "v8",
		p.Architecture == "amd64" && p.Variant == "v1":
		p.Variant = ""
	}
	return p
}

// matches reports whether have satisfies the spec. Unset fields of the
// spec (variant, OS version) match anything.
func (p platformSpec) matches(have *v1.Platform) bool {
	switch p.mode {
	case platformAll:
		return true
	case platformHost, platformExplicit:
		if have == nil {
			return false
		}
		h := normalizePlatform(*have)
		return h.OS == p.want.OS && h.Architecture == p.want.Architecture &&
			(p.want.Variant == "" || h.Variant == p.want.Variant) &&
			(p.want.OSVersion == "" || h.OSVersion == p.want.OSVersion)
	}
	return false
}

// conflicts reports whether an image of platform have contradicts an
// explicit request. A single image ignores the host default: it is what the
// user asked to open.
func (p platformSpec) conflicts(have *v1.Platform) bool {
	switch p.mode {
	case platformHost, platformAll:
		return false
	case platformExplicit:
		return have != nil && have.OS != "" && !p.matches(have)
	}
	return false
}

func platformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "unknown"
	}
	return p.String()
}

// configPlatform returns the platform a config file declares, or nil.
func configPlatform(cfg *v1.ConfigFile) *v1.Platform {
	if cfg == nil || cfg.OS == "" {
		return nil
	}
	return cfg.Platform()
}
