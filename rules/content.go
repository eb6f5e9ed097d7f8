package rules

import (
	"archive/tar"
	"bytes"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Content scanning bounds: files larger than ContentScanMaxFileBytes are
// not scanned, and of the others only the first ContentScanWindow bytes
// (a key that starts inside the window is found whole).
const (
	ContentScanMaxFileBytes int64 = 1 << 20
	ContentScanWindow             = 64 << 10
)

// maxMatchLen bounds the length of every pattern the scanner knows, so that
// a match starting in the window ends within ContentScanWindow+maxMatchLen.
const maxMatchLen = 128

// SecretKind is a kind of credential recognised by its content.
type SecretKind uint8

// Secret kinds. The zero value is invalid.
const (
	SecretPEMPrivateKey SecretKind = iota + 1
	SecretOpenSSHPrivateKey
	SecretPGPPrivateKey
	SecretAWSAccessKeyID
	SecretGitHubToken
	SecretSlackToken
	SecretGoogleAPIKey
	SecretStripeLiveKey
)

// String names the kind with its article, for messages: "an AWS access key
// ID".
func (k SecretKind) String() string {
	switch k {
	case SecretPEMPrivateKey:
		return "a PEM private key"
	case SecretOpenSSHPrivateKey:
		return "an OpenSSH private key"
	case SecretPGPPrivateKey:
		return "a PGP private key"
	case SecretAWSAccessKeyID:
		return "an AWS access key ID"
	case SecretGitHubToken:
		return "a GitHub token"
	case SecretSlackToken:
		return "a Slack token"
	case SecretGoogleAPIKey:
		return "a Google API key"
	case SecretStripeLiveKey:
		return "a Stripe live secret key"
	}
	return "secretkind(" + strconv.Itoa(int(k)) + ")"
}

// ContentMatch says that a layer's file holds a secret of some kind. It
// never holds the secret or any part of it.
type ContentMatch struct {
	Layer int
	Path  string
	// Size is the file's size.
	Size int64
	Kind SecretKind
}

// ContentResults is what a content scan found.
type ContentResults struct {
	// Layers lists the layers scanned, ascending: a file of one of these
	// layers, no larger than ContentScanMaxFileBytes, with no match holds
	// no known key in its first ContentScanWindow bytes.
	Layers []int
	// Matches are sorted by layer, path, kind; one per (layer, path, kind).
	Matches []ContentMatch
}

// Scanned reports whether the layer was scanned.
func (r *ContentResults) Scanned(layer int) bool {
	if r == nil {
		return false
	}
	_, ok := slices.BinarySearch(r.Layers, layer)
	return ok
}

// ContentScan looks for known key formats in the content of every regular
// file while analyze reads the layers, so that no layer is read twice. Plug
// it in before the analysis, read it after:
//
//	scan := rules.NewContentScan()
//	a, err := analyze.Analyze(ctx, img, analyze.Options{Scan: scan})
//	...
//	f, err := rules.Gather(ctx, a, opts, scan) // or: f := rules.NewFacts(a, opts); f.Content = scan.Results()
//
// It scans every file the layer blobs hold, including those a later layer
// deletes. Each layer gets its own scanner, so layers may be read in
// parallel; memory is bounded by one window per layer being read.
type ContentScan struct {
	mu      sync.Mutex
	layers  map[int]bool
	matches map[ContentMatch]bool
}

// NewContentScan returns an empty scan.
func NewContentScan() *ContentScan {
	return &ContentScan{layers: map[int]bool{}, matches: map[ContentMatch]bool{}}
}

// Inspect has the signature of analyze.Options.Inspect: it returns the hook
// for one layer, which returns a writer for each file worth scanning (nil
// for empty files and files over ContentScanMaxFileBytes). The hook and
// its writers must be used by one goroutine at a time, one file after the
// other, as analyze does; hooks of different layers may run concurrently.
func (c *ContentScan) Inspect(layer int) func(path string, hdr *tar.Header) io.Writer {
	c.mu.Lock()
	c.layers[layer] = true
	c.mu.Unlock()
	fs := &fileScanner{buf: make([]byte, 0, ContentScanWindow+maxMatchLen)}
	return func(path string, hdr *tar.Header) io.Writer {
		if hdr.Size <= 0 || hdr.Size > ContentScanMaxFileBytes {
			return nil
		}
		size := hdr.Size
		fs.reset(min(size, ContentScanWindow+maxMatchLen), func(k SecretKind) {
			c.mu.Lock()
			c.matches[ContentMatch{Layer: layer, Path: path, Size: size, Kind: k}] = true
			c.mu.Unlock()
		})
		return fs
	}
}

// Results returns what the scan found so far; call it after the analysis.
func (c *ContentScan) Results() *ContentResults {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &ContentResults{Layers: []int{}, Matches: []ContentMatch{}}
	for l := range c.layers {
		r.Layers = append(r.Layers, l)
	}
	slices.Sort(r.Layers)
	for m := range c.matches {
		r.Matches = append(r.Matches, m)
	}
	slices.SortFunc(r.Matches, func(a, b ContentMatch) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Size, b.Size))
	})
	return r
}

// fileScanner gathers the start of one file (the window plus room for a
// key that starts inside it) and scans it once it has all of it, so a key
// split between writes is seen whole. It is reused file after file.
type fileScanner struct {
	buf   []byte
	want  int64 // bytes to gather before scanning
	found func(SecretKind)
	done  bool
}

func (s *fileScanner) reset(want int64, found func(SecretKind)) {
	s.buf, s.want, s.found, s.done = s.buf[:0], want, found, false
}

// Write never fails, so that scanning cannot break the analysis.
func (s *fileScanner) Write(p []byte) (int, error) {
	if s.done {
		return len(p), nil
	}
	need := int(s.want) - len(s.buf)
	s.buf = append(s.buf, p[:min(need, len(p))]...)
	if int64(len(s.buf)) >= s.want {
		s.done = true
		scanSecrets(s.buf, ContentScanWindow, s.found)
		clear(s.buf) // do not keep file content around
	}
	return len(p), nil
}

// tokenPattern is a literal prefix followed by at least n bytes of a
// character class; the byte before the prefix must not be a word byte.
type tokenPattern struct {
	prefix string
	class  func(byte) bool
	n      int
	kind   SecretKind
}

func isUpperDigit(b byte) bool { return b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }
func isAlnum(b byte) bool      { return isUpperDigit(b) || b >= 'a' && b <= 'z' }
func isWord(b byte) bool       { return isAlnum(b) || b == '_' }
func isWordDash(b byte) bool   { return isWord(b) || b == '-' }
func isAlnumDash(b byte) bool  { return isAlnum(b) || b == '-' }

// all reports whether every byte of b is in class.
func all(b []byte, class func(byte) bool) bool {
	for _, c := range b {
		if !class(c) {
			return false
		}
	}
	return true
}

var tokenPatterns = []tokenPattern{
	{"AKIA", isUpperDigit, 16, SecretAWSAccessKeyID},
	{"ghp_", isAlnum, 36, SecretGitHubToken},
	{"gho_", isAlnum, 36, SecretGitHubToken},
	{"ghs_", isAlnum, 36, SecretGitHubToken},
	{"github_pat_", isWord, 82, SecretGitHubToken},
	{"xoxb-", isAlnumDash, 10, SecretSlackToken},
	{"xoxa-", isAlnumDash, 10, SecretSlackToken},
	{"xoxp-", isAlnumDash, 10, SecretSlackToken},
	{"xoxr-", isAlnumDash, 10, SecretSlackToken},
	{"xoxs-", isAlnumDash, 10, SecretSlackToken},
	{"AIza", isWordDash, 35, SecretGoogleAPIKey},
	{"sk_live_", isAlnum, 24, SecretStripeLiveKey},
}

// scanSecrets reports each kind of key that starts in b[:window] (and may
// end after it), once per kind.
func scanSecrets(b []byte, window int, found func(SecretKind)) {
	var seen [SecretStripeLiveKey + 1]bool
	report := func(k SecretKind) {
		if !seen[k] {
			seen[k] = true
			found(k)
		}
	}
	for _, tp := range tokenPatterns {
		if seen[tp.kind] {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(b[off:], []byte(tp.prefix))
			if i < 0 {
				break
			}
			start := off + i
			if start >= window {
				break
			}
			off = start + 1
			if start > 0 && isWord(b[start-1]) {
				continue
			}
			rest := b[start+len(tp.prefix):]
			if len(rest) < tp.n || !all(rest[:tp.n], tp.class) {
				continue
			}
			report(tp.kind)
			break
		}
	}
	scanPEM(b, window, report)
}

// scanPEM finds "-----BEGIN [A-Z ]*PRIVATE KEY-----" and
// "-----BEGIN PGP PRIVATE KEY BLOCK-----".
func scanPEM(b []byte, window int, report func(SecretKind)) {
	const begin = "-----BEGIN "
	const maxPEMLabel = 64 // "-----BEGIN " + label + "-----" fits in maxMatchLen
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(begin))
		if i < 0 {
			return
		}
		start := off + i
		if start >= window {
			return
		}
		off = start + 1
		label := b[start+len(begin):]
		end := 0
		for end < len(label) && end < maxPEMLabel && (label[end] >= 'A' && label[end] <= 'Z' || label[end] == ' ') {
			end++
		}
		label, tail := label[:end], label[end:]
		if !bytes.HasPrefix(tail, []byte("-----")) {
			continue
		}
		switch {
		case string(label) == "OPENSSH PRIVATE KEY":
			report(SecretOpenSSHPrivateKey)
		case string(label) == "PGP PRIVATE KEY BLOCK":
			report(SecretPGPPrivateKey)
		case bytes.HasSuffix(label, []byte("PRIVATE KEY")):
			report(SecretPEMPrivateKey)
		}
	}
}
