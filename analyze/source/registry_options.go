package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RetryStatusCodes are the HTTP statuses a registry request is retried on
// (with backoff, see DefaultRetryBackoff): rate limits and server errors,
// which are the registry's state, not the request's fault.
var RetryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// DefaultRetryBackoff waits 1s, 2s, 4s between four attempts.
func DefaultRetryBackoff() remote.Backoff {
	return remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 4}
}

// RegistryOptions tune how registry: references are read and written.
type RegistryOptions struct {
	// Insecure allows plain HTTP (and skips nothing else): for a registry
	// on loopback or a private network. ggcr already speaks HTTP to
	// localhost and 127.0.0.1.
	Insecure bool
	// Keychain finds credentials; nil is ggcr's default keychain (the
	// Docker config file and its credential helpers).
	Keychain authn.Keychain
	// Backoff between retries; the zero value is DefaultRetryBackoff.
	Backoff remote.Backoff
	// Transport is the innermost round tripper; nil is remote's default.
	Transport http.RoundTripper
}

func (o RegistryOptions) keychain() authn.Keychain {
	if o.Keychain == nil {
		return authn.DefaultKeychain
	}
	return o.Keychain
}

func (o RegistryOptions) backoff() remote.Backoff {
	if o.Backoff.Steps == 0 {
		return DefaultRetryBackoff()
	}
	return o.Backoff
}

// NameOptions are the ggcr name options that match o.
func (o RegistryOptions) NameOptions() []name.Option {
	var opts []name.Option
	if o.Insecure {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// RemoteOptions are the ggcr remote options that match o, for writers
// (fix --push) that use remote directly.
func (o RegistryOptions) RemoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain()),
		remote.WithRetryBackoff(o.backoff()),
		remote.WithRetryStatusCodes(RetryStatusCodes...),
		remote.WithUserAgent("layerlint"),
	}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return opts
}

// ParseRegistryName parses the REF of registry:REF into a ggcr reference.
func ParseRegistryName(ref string, o RegistryOptions) (name.Reference, error) {
	r, err := name.ParseReference(ref, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("parsing registry reference %q: %w: %w", ref, ErrInvalid, err)
	}
	return r, nil
}

// errorCode keeps a registry's error code only when it looks like one
// (MANIFEST_UNKNOWN): the registry is not trusted to print to a terminal.
var errorCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// RegistryError words a failed request to a registry reg about ref (what
// was being done: "pushing", "tagging") as the reader's errors are worded,
// with the same sentinels; for writers that use ggcr's remote directly.
func RegistryError(reg, ref, doing string, err error) error {
	return registryError(reg, ref, doing, err)
}

// registryError words a failed registry request. 401 and 403 wrap
// ErrDenied, 404 ErrNotFound, a registry that cannot be reached or broke
// the connection (or still failed after the retries) ErrUnreachable. The
// registry's own message is left out: it is untrusted text, and its code
// says the same.
func registryError(reg, ref, doing string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		var codes []string
		for _, d := range te.Errors {
			if c := string(d.Code); errorCode.MatchString(c) {
				codes = append(codes, c)
			}
		}
		status := strconv.Itoa(te.StatusCode) + " " + http.StatusText(te.StatusCode)
		if len(codes) > 0 {
			status += " (" + strings.Join(codes, ", ") + ")"
		}
		var sentinel error
		switch {
		case te.StatusCode == http.StatusUnauthorized:
			sentinel = fmt.Errorf("%w: authentication required (credentials come from the Docker config and its credential helpers)", ErrDenied)
		case te.StatusCode == http.StatusForbidden:
			sentinel = fmt.Errorf("%w: access denied", ErrDenied)
		case te.StatusCode == http.StatusNotFound:
			sentinel = ErrNotFound
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
			sentinel = ErrUnreachable
		default:
			sentinel = ErrInvalid
		}
		return fmt.Errorf("%s %s from registry %s: %s: %w", doing, ref, reg, status, sentinel)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s from registry %s: %w", doing, ref, reg, err)
	}
	if errors.Is(err, ErrInvalid) {
		return fmt.Errorf("%s %s from registry %s: %w", doing, ref, reg, err)
	}
	return fmt.Errorf("%s %s from registry %s: %w: %s", doing, ref, reg, ErrUnreachable, netReason(err))
}
