package source

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParseReference(t *testing.T) {
	t.Parallel()
	dg := "sha256:" + strings.Repeat("ab", 32)
	h, err := v1.NewHash(dg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want Reference
		err  error
	}{
		{in: "/tmp/img.tar", want: Reference{Format: FormatAuto, Path: "/tmp/img.tar", Index: -1}},
		{in: "dir:with:colons", want: Reference{Format: FormatAuto, Path: "dir:with:colons", Index: -1}},
		{in: "oci:/l", want: Reference{Format: FormatOCILayout, Path: "/l", Index: -1}},
		{in: "oci:/l:v1", want: Reference{Format: FormatOCILayout, Path: "/l", Tag: "v1", Index: -1}},
		{in: "oci:/l@" + dg, want: Reference{Format: FormatOCILayout, Path: "/l", Digest: h, Index: -1}},
		{in: "oci:a@b:c", want: Reference{Format: FormatOCILayout, Path: "a@b", Tag: "c", Index: -1}},
		{in: "oci-archive:x.tar:latest", want: Reference{Format: FormatOCIArchive, Path: "x.tar", Tag: "latest", Index: -1}},
		{in: "docker-archive:d.tar", want: Reference{Format: FormatDockerArchive, Path: "d.tar", Index: -1}},
		{in: "docker-archive:d.tar:alpine:3.20", want: Reference{Format: FormatDockerArchive, Path: "d.tar", Tag: "alpine:3.20", Index: -1}},
		{in: "docker-archive:d.tar:localhost:5000/x:y", want: Reference{Format: FormatDockerArchive, Path: "d.tar", Tag: "localhost:5000/x:y", Index: -1}},
		{in: "docker-archive:d.tar:1", want: Reference{Format: FormatDockerArchive, Path: "d.tar", Index: 1}},
		{in: "docker-archive:d.tar:@2", want: Reference{Format: FormatDockerArchive, Path: "d.tar", Index: 2}},
		{in: "", err: ErrInvalid},
		{in: "oci:", err: ErrInvalid},
		{in: "oci:/l:", err: ErrInvalid},
		{in: "docker-archive:d.tar:", err: ErrInvalid},
		{in: "docker-archive:d.tar:@x", err: ErrInvalid},
		{in: "docker-archive:d.tar:99999999999999999999", err: ErrInvalid},
		{in: "oci-archive::tag", err: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseReference(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseReference(%q) error %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ParseReference(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			again, err := ParseReference(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip via %q = %+v, %v", got.String(), again, err)
			}
		})
	}
}

// FuzzParseReference checks that parsing never panics and that String
// round-trips every accepted reference.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"oci:/l:v1", "oci:/l@sha256:" + strings.Repeat("0", 64), "oci-archive:x.tar",
		"docker-archive:d.tar:a/b:c", "docker-archive:d.tar:3", "docker-archive:d:@1", "plain/path", "oci:a@b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if r.Path == "" {
			t.Fatalf("accepted %q with empty path", s)
		}
		again, err := ParseReference(r.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v whose String %q fails: %v", s, r, r.String(), err)
		}
		if again != r {
			t.Fatalf("%q: %+v round-trips to %+v", s, r, again)
		}
	})
}
