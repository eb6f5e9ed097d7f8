package rules

import (
	"archive/tar"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Fake keys are built at run time so that the repository holds nothing a
// secret scanner would flag.
func fakeKeys() map[SecretKind]string {
	pem := func(label string) string {
		return "-----" + "BEGIN " + label + "-----\nMIIB" + strings.Repeat("Qk", 30) + "\n-----END " + label + "-----\n"
	}
	return map[SecretKind]string{
		SecretPEMPrivateKey:     pem("RSA " + "PRIVATE KEY"),
		SecretOpenSSHPrivateKey: pem("OPENSSH " + "PRIVATE KEY"),
		SecretPGPPrivateKey:     pem("PGP " + "PRIVATE KEY BLOCK"),
		SecretAWSAccessKeyID:    "AK" + "IA" + strings.Repeat("Z7", 8),
		SecretGitHubToken:       "gh" + "p_" + strings.Repeat("aB3", 12),
		SecretSlackToken:        "xo" + "xb-" + strings.Repeat("1234-", 4),
		SecretGoogleAPIKey:      "AI" + "za" + strings.Repeat("x_-", 11) + "yz",
		SecretStripeLiveKey:     "sk" + "_live_" + strings.Repeat("q9", 12),
	}
}

// scan feeds data to a fresh scanner in the given chunk sizes (cycled).
func scan(data []byte, chunks ...int) []SecretKind {
	c := NewContentScan()
	hook := c.Inspect(0)
	w := hook("f", &tar.Header{Size: int64(len(data))})
	if w == nil {
		return nil
	}
	if len(chunks) == 0 {
		chunks = []int{len(data)}
	}
	for i := 0; len(data) > 0; i++ {
		n := min(len(data), chunks[i%len(chunks)])
		if m, err := w.Write(data[:n]); m != n || err != nil {
			panic("short write")
		}
		data = data[n:]
	}
	var out []SecretKind
	for _, m := range c.Results().Matches {
		out = append(out, m.Kind)
	}
	return out
}

func TestScanKinds(t *testing.T) {
	t.Parallel()
	for kind, key := range fakeKeys() {
		t.Run(kind.String(), func(t *testing.T) {
			data := []byte("config:\n  value: " + key + "\n")
			for _, chunks := range [][]int{{len(data)}, {1}, {3, 7}, {len(data) / 2}} {
				if got := scan(data, chunks...); !slices.Equal(got, []SecretKind{kind}) {
					t.Errorf("chunks %v: got %v, want %v", chunks, got, kind)
				}
			}
		})
	}
}

func TestScanNearMisses(t *testing.T) {
	t.Parallel()
	k := fakeKeys()
	near := []string{
		"AK" + "IA" + strings.Repeat("Z", 15),                             // one short
		"x" + k[SecretAWSAccessKeyID],                                     // inside a longer word
		"AK" + "IA" + strings.Repeat("z", 16),                             // lower case
		"gh" + "p_" + strings.Repeat("a", 35),                             // one short
		"gh" + "x_" + strings.Repeat("a", 36),                             // no such prefix
		"sk" + "_test_" + strings.Repeat("q", 30),                         // a test key
		"xo" + "xz-" + strings.Repeat("1", 20),                            // no such Slack prefix
		"-----" + "BEGIN PUBLIC KEY-----",                                 // public
		"-----" + "BEGIN CERTIFICATE-----",                                // certificate
		"-----" + "BEGIN " + "PRIVATE KEY",                                // no closing dashes
		"-----" + "BEGIN rsa " + "PRIVATE KEY-----",                       // lower case label
		"github" + "_pat_" + strings.Repeat("A", 81),                      // one short
		"AI" + "za" + strings.Repeat("b", 34),                             // one short
		"-----" + "BEGIN " + strings.Repeat("X", 70) + "PRIVATE KEY-----", // label too long
	}
	for _, s := range near {
		if got := scan([]byte("a " + s + " b")); len(got) != 0 {
			t.Errorf("%q: got %v, want nothing", s, got)
		}
	}
}

// TestScanWindow checks the bounds: a key that starts in the first 64 KiB
// is found even if it ends after it, whatever the write boundaries; one
// that starts after is not; files over 1 MiB are not scanned.
func TestScanWindow(t *testing.T) {
	t.Parallel()
	key := fakeKeys()[SecretGitHubToken]
	at := func(off, size int) []byte {
		b := []byte(strings.Repeat(".", size))
		copy(b[off:], key)
		return b
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"across the window end", at(ContentScanWindow-10, 100_000), 1},
		{"last byte of the window", at(ContentScanWindow-1, 100_000), 1},
		{"just after the window", at(ContentScanWindow, 100_000), 0},
		{"file ends with the key", at(200-len(key), 200), 1},
		{"file over the size limit", at(0, int(ContentScanMaxFileBytes)+1), 0},
		{"file at the size limit", at(0, int(ContentScanMaxFileBytes)), 1},
	} {
		for _, chunks := range [][]int{{32 << 10}, {ContentScanWindow - 5, 7}, {1 + rng.IntN(5000), 1 + rng.IntN(50)}} {
			if got := scan(tc.data, chunks...); len(got) != tc.want {
				t.Errorf("%s, chunks %v: got %v, want %d match", tc.name, chunks, got, tc.want)
			}
		}
	}
}

// TestScanParallel runs layers concurrently, several files each, and
// checks that results are merged in order and deduplicated.
func TestScanParallel(t *testing.T) {
	t.Parallel()
	keys := fakeKeys()
	c := NewContentScan()
	var wg sync.WaitGroup
	for layer := range 8 {
		wg.Go(func() {
			hook := c.Inspect(layer)
			for i, kind := range []SecretKind{SecretAWSAccessKeyID, SecretSlackToken, SecretAWSAccessKeyID} {
				data := []byte(keys[kind] + " " + keys[SecretGitHubToken])
				name := []string{"b", "a", "b"}[i] // b twice: a duplicate entry
				if w := hook(name, &tar.Header{Size: int64(len(data))}); w != nil {
					_, _ = w.Write(data)
				}
			}
			if w := hook("empty", &tar.Header{}); w != nil {
				t.Error("empty file scanned")
			}
		})
	}
	wg.Wait()
	r := c.Results()
	if !slices.Equal(r.Layers, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("layers %v", r.Layers)
	}
	if len(r.Matches) != 8*4 {
		t.Fatalf("%d matches, want 32: %+v", len(r.Matches), r.Matches)
	}
	for i, m := range r.Matches[:4] {
		want := []ContentMatch{
			{0, "a", int64(len(keys[SecretSlackToken]) + 1 + len(keys[SecretGitHubToken])), SecretGitHubToken},
			{0, "a", int64(len(keys[SecretSlackToken]) + 1 + len(keys[SecretGitHubToken])), SecretSlackToken},
			{0, "b", int64(len(keys[SecretAWSAccessKeyID]) + 1 + len(keys[SecretGitHubToken])), SecretAWSAccessKeyID},
			{0, "b", int64(len(keys[SecretAWSAccessKeyID]) + 1 + len(keys[SecretGitHubToken])), SecretGitHubToken},
		}[i]
		if m != want {
			t.Errorf("match %d: %+v, want %+v", i, m, want)
		}
	}
	if !r.Scanned(3) || r.Scanned(8) || (*ContentResults)(nil).Scanned(0) {
		t.Error("Scanned")
	}
}

// BenchmarkScan measures the scan of one file's window with no key in it,
// the common case.
func BenchmarkScan(b *testing.B) {
	data := []byte(strings.Repeat("The quick brown fox -----BEGIN CERTIFICATE----- AKIA jumps over ghp_ lazy dogs.\n", ContentScanWindow/80))
	hook := NewContentScan().Inspect(0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := hook("f", &tar.Header{Size: int64(len(data))})
		_, _ = w.Write(data)
	}
}
