package source

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package that concerns one of
// these conditions wraps the matching sentinel, so callers can branch with
// errors.Is while the message still names the file, blob or manifest.
var (
	// ErrNotFound reports an absent blob, manifest, tag, image index entry
	// or archive member.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch reports content whose digest or size differs from
	// the descriptor (or config diff_id) that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalid reports malformed input: bad JSON, an unexpected media type
	// or schemaVersion, a negative or absurd size, a bad digest, an
	// unsupported compression, a symlink loop or an index cycle.
	ErrInvalid = errors.New("invalid image")
	// ErrNoMatchingPlatform reports that no manifest of an index matches the
	// requested (or host) platform; the message lists the available ones.
	ErrNoMatchingPlatform = errors.New("no matching platform")
	// ErrAmbiguous reports several candidate images and no selector; the
	// message lists the choices.
	ErrAmbiguous = errors.New("ambiguous image selection")
	// ErrCapExceeded reports input over a cap. analyze's caps wrap the
	// same sentinel.
	ErrCapExceeded = errors.New("cap exceeded")
	// ErrSaveTooLarge reports an engine's save stream longer than
	// Options.MaxSaveBytes; it wraps ErrCapExceeded.
	ErrSaveTooLarge = fmt.Errorf("save stream too large: %w", ErrCapExceeded)
)

// Sentinels of the sources reached over a network or a socket.
var (
	// ErrDenied reports a registry that refused the credentials (401) or
	// the access (403).
	ErrDenied = errors.New("access denied")
	// ErrUnreachable reports a registry or engine that could not be
	// reached, broke the connection, or kept failing after the retries.
	ErrUnreachable = errors.New("unreachable")
)
