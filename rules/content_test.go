package rules_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
)

// Fake keys, built at run time so that the repository holds no string a
// secret scanner would flag.
var (
	fakeAWS     = "AK" + "IA" + strings.Repeat("Q4", 8)
	fakeGitHub  = "gh" + "s_" + strings.Repeat("Tk9", 12)
	fakeSlack   = "xo" + "xp-" + strings.Repeat("8642", 4)
	fakeGoogle  = "AI" + "za" + strings.Repeat("Sy_", 11) + "Q1"
	fakeStripe  = "sk" + "_live_" + strings.Repeat("Zz", 14)
	fakeOpenSSH = pemBlock("OPENSSH " + "PRIVATE KEY")
	fakeRSA     = pemBlock("RSA " + "PRIVATE KEY")
	fakePGP     = pemBlock("PGP " + "PRIVATE KEY BLOCK")
	fakeCert    = pemBlock("CERTIFICATE")
)

func pemBlock(label string) string {
	return "-----" + "BEGIN " + label + "-----\n" + secretMarker + strings.Repeat("Vm0", 20) + "\n-----END " + label + "-----\n"
}

// padded puts s at offset off of n bytes of filler.
func padded(s string, off, n int) []byte {
	b := []byte(strings.Repeat("#", n))
	copy(b[off:], s)
	return b
}

// scanFacts analyzes img with a content scan and gathers the facts.
func scanFacts(t *testing.T, img *fixtures.Image, opts rules.Options) *rules.Facts {
	t.Helper()
	dir := t.TempDir()
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatalf("writing layout: %v", err)
	}
	scan := rules.NewContentScan()
	a := imagetest.AnalyzeWith(t, dir, analyze.Options{Inspect: scan.Inspect, Parallel: 4})
	f, err := rules.Gather(context.Background(), a, opts, scan)
	if err != nil {
		t.Fatalf("gathering facts: %v", err)
	}
	return f
}

func secretImage() *fixtures.Image {
	return fixtures.NewImage().
		Add(fixtures.NewLayer().
			File("etc/ssl/certs/ca.pem", []byte(fakeCert)).
			File("etc/ssl/private/server-key.pem", []byte(fakeRSA)). // by name and content: one finding
			File("srv/tls/key.pem", []byte(fakeCert)).               // named as a key, holds a certificate
			File("app/config.js", []byte("module.exports = { key: '"+fakeAWS+"' };\n")),
			fixtures.CreatedBy("ADD rootfs.tar /")).
		Add(fixtures.NewLayer().
			File("root/.ssh/deploy", []byte(fakeOpenSSH)).
			File("app/settings.yaml", []byte("slack: "+fakeSlack+"\ngoogle: "+fakeGoogle+"\nstripe: "+fakeStripe+"\n")).
			File("app/across.bin", padded(fakeGitHub, rules.ContentScanWindow-10, 100_000)).
			File("app/late.bin", padded(fakeGitHub, rules.ContentScanWindow+100, 100_000)).
			File("app/huge.bin", padded(fakeGitHub, 0, int(rules.ContentScanMaxFileBytes)+1)).
			File("home/u/.gnupg/export.asc", []byte(fakePGP)),
			fixtures.CreatedBy("COPY . /")).
		Add(fixtures.NewLayer().
			Whiteout("root/.ssh/deploy").
			Whiteout("home/u/.gnupg"),
			fixtures.CreatedBy("RUN rm -rf /root/.ssh/deploy /home/u/.gnupg"))
}

func TestSecretContent(t *testing.T) {
	t.Parallel()
	r := ruleByID(t, "LL009")
	f := scanFacts(t, secretImage(), rules.Options{})
	got := r.Check(f)
	type line struct {
		want
		msg string
	}
	var gotL []line
	for _, g := range got {
		gotL = append(gotL, line{want{g.Layer, g.Path, g.Bytes}, g.Message})
		checkFinding(t, r, g)
		for _, s := range []string{fakeAWS, fakeGitHub, fakeSlack, fakeGoogle, fakeStripe, fakeOpenSSH, fakeRSA, fakePGP} {
			for i := 0; i+8 <= len(s); i++ {
				// No 8-byte piece of a key body shows (the PEM armour
				// words are not secret).
				if piece := s[i : i+8]; !strings.Contains(piece, "-----") && !strings.Contains(piece, "PRIVATE") &&
					(strings.Contains(g.Message, piece) || strings.Contains(g.Fix, piece)) {
					t.Errorf("finding %q quotes %q", g.Message, piece)
				}
			}
		}
	}
	hidden := "is hidden by a later layer but still ships in this one"
	final := "is in the final filesystem"
	wantL := []line{
		{want{0, "app/config.js", int64(len(fakeAWS) + 30)}, "/app/config.js holds an AWS access key ID (found in its content); it " + final},
		{want{0, "etc/ssl/private/server-key.pem", int64(len(fakeRSA))}, "/etc/ssl/private/server-key.pem holds a PEM private key (found in its content); it " + final},
		{want{1, "app/across.bin", 100_000}, "/app/across.bin holds a GitHub token (found in its content); it " + final},
		{want{1, "app/settings.yaml", int64(len(fakeSlack) + len(fakeGoogle) + len(fakeStripe) + 26)},
			"/app/settings.yaml holds a Slack token, a Google API key and a Stripe live secret key (found in its content); it " + final},
		{want{1, "home/u/.gnupg/export.asc", int64(len(fakePGP))}, "/home/u/.gnupg/export.asc holds a PGP private key (found in its content); it " + hidden},
		{want{1, "root/.ssh/deploy", int64(len(fakeOpenSSH))}, "/root/.ssh/deploy holds an OpenSSH private key (found in its content); it " + hidden},
	}
	if !slices.Equal(gotL, wantL) {
		t.Errorf("findings:\n got %v\nwant %v", gotL, wantL)
	}

	// Without a content scan, the rule judges by names, as before.
	got = r.Check(facts(t, secretImage(), rules.Options{}))
	var paths []string
	for _, g := range got {
		paths = append(paths, g.Path)
	}
	if want := []string{"etc/ssl/private/server-key.pem", "srv/tls/key.pem"}; !slices.Equal(paths, want) {
		t.Errorf("by name: got %v, want %v", paths, want)
	}
}

// TestCleanImageIsSilentWithContent runs every rule on the clean image with
// the content scan and the compression estimate on, and on near-misses of
// the rules of this change.
func TestCleanImageIsSilentWithContent(t *testing.T) {
	t.Parallel()
	near := clean()
	near.Add(fixtures.NewLayer().
		File("app/README", []byte("keys look like AK"+"IA followed by 16 characters; ours: "+"AK"+"IA"+strings.Repeat("z", 16)+"\n")).
		File("app/public.pem", []byte(pemBlock("PUBLIC KEY"))).
		File("app/big.bin", content(2<<20, 7)),
		fixtures.CreatedBy("COPY package.json package-lock.json /app/ # buildkit"))
	near.Add(fixtures.NewLayer().File("app/node_modules/x", content(100, 8)), fixtures.CreatedBy("RUN /bin/sh -c npm ci # buildkit"))
	near.Add(fixtures.NewLayer().File("app/big.bin", content(2<<20, 7), fixtures.Mode(0o600)).File("app/src", content(10, 9)),
		fixtures.CreatedBy("COPY . /app # buildkit"))
	near.Add(fixtures.NewLayer().File("app/dist", content(100, 10)), fixtures.CreatedBy("RUN /bin/sh -c npm run build # buildkit"))
	f := scanFacts(t, near, rules.Options{EstimateCompression: true})
	for _, r := range rules.All() {
		got := r.Check(f)
		if r.ID == "LL003" {
			continue // the chmod copy of big.bin is LL003's, not LL008's
		}
		if len(got) != 0 {
			t.Errorf("%s fired: %+v", r.ID, got)
		}
	}
	f = scanFacts(t, clean(), rules.Options{EstimateCompression: true})
	for _, r := range rules.All() {
		if got := r.Check(f); len(got) != 0 {
			t.Errorf("%s fired on the clean image: %+v", r.ID, got)
		}
	}
}
