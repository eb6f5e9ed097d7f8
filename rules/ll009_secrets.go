package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

func secretFiles() Rule {
	return Rule{
		ID:       "LL009",
		Name:     "secret-files",
		Severity: Error,
		Summary:  "A layer ships a file whose name marks it as a credential or private key, even if a later layer deletes it.",
		Doc: "Anyone who can pull an image can read every layer, not just the final filesystem: " +
			"a key or token deleted in a later step is still in the layer that added it. Treat " +
			"every credential found here as leaked: rotate it, then rebuild without it. Pass " +
			"secrets to the build with `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci` " +
			"(BuildKit) or `RUN --mount=type=ssh`, never with COPY or ARG, and keep them out of the " +
			"build context with .dockerignore. By name, the rule matches id_rsa and other SSH " +
			"private keys, *.key, *.p12, *.pfx, *.pem files named as keys (key.pem, privkey.pem), " +
			".env, .aws/credentials, .docker/config.json, .netrc, .npmrc, .pypirc and " +
			".git-credentials; empty files are skipped. When content scanning is on, it also reads " +
			"the first 64 KiB of every file up to 1 MiB, under any name, for PEM, OpenSSH and PGP " +
			"private keys, AWS access key IDs, GitHub, Slack and Stripe live tokens and Google API " +
			"keys; a *.pem named as a key that it scanned and found no private key in (a " +
			"certificate) is then not reported. Findings name the path, the layer and the kind of " +
			"secret; they never quote file content.",
		Check: checkSecrets,
	}
}

// secretKind names what a path looks like, "" for nothing secret.
func secretKind(p string) string {
	base := path.Base(p)
	switch base {
	case "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk":
		return "an SSH private key"
	case ".env":
		return "an environment file"
	case ".netrc":
		return "a .netrc with login credentials"
	case ".npmrc":
		return "an npm config, which may hold a registry token"
	case ".pypirc":
		return "a PyPI config, which may hold an upload token"
	case ".git-credentials":
		return "stored Git credentials"
	}
	switch {
	case p == ".aws/credentials" || strings.HasSuffix(p, "/.aws/credentials"):
		return "AWS credentials"
	case p == ".docker/config.json" || strings.HasSuffix(p, "/.docker/config.json"):
		return "Docker registry credentials"
	}
	switch path.Ext(base) {
	case ".key":
		return "a private key"
	case ".p12", ".pfx":
		return "a PKCS#12 key store"
	case ".pem":
		// Certificates are .pem too and are meant to ship; without
		// content scanning only a key-like name tells them apart.
		if strings.Contains(strings.ToLower(base), "key") {
			return "a PEM private key"
		}
	}
	return ""
}

// checkSecrets scans every layer's entries, not the merged view: a deleted
// secret still ships. A file is reported once per layer, by its content
// when content scanning found a key in it, else by its name.
func checkSecrets(f *Facts) []Finding {
	found := map[int]map[string][]SecretKind{}
	if f.Content != nil {
		for _, m := range f.Content.Matches {
			if found[m.Layer] == nil {
				found[m.Layer] = map[string][]SecretKind{}
			}
			found[m.Layer][m.Path] = append(found[m.Layer][m.Path], m.Kind)
		}
	}
	var out []Finding
	for layer, cs := range f.Changesets {
		if cs == nil {
			continue // layer not analyzed
		}
		seen := map[string]bool{}
		for _, e := range cs.All() {
			if e.Kind != overlay.EntryFile || e.Size == 0 || seen[e.Path] {
				continue
			}
			var what string
			if kinds := found[layer][e.Path]; len(kinds) > 0 {
				what = "holds " + kindList(kinds) + " (found in its content)"
			} else if kind := secretKind(e.Path); kind != "" && !scannedCertificate(f, layer, e) {
				what = "looks like " + kind + " (by its name)"
			} else {
				continue
			}
			seen[e.Path] = true
			where := "is in the final filesystem"
			if fl, ok := f.Model.Lookup(e.Path); !ok || fl.Layer != layer {
				where = "is hidden by a later layer but still ships in this one"
			}
			out = append(out, Finding{
				Rule:      "LL009",
				Severity:  Error,
				Message:   fmt.Sprintf("%s %s; it %s", abs(e.Path), what, where),
				Layer:     layer,
				Path:      e.Path,
				Bytes:     e.Size,
				CreatedBy: f.createdBy(layer),
				Fix:       "rotate the credential, then rebuild passing it with RUN --mount=type=secret instead of copying it into a layer",
			})
		}
	}
	return sorted(out)
}

// scannedCertificate reports whether e is a *.pem that the content scan
// read and found no private key in: a certificate or public key, whatever
// its name says.
func scannedCertificate(f *Facts, layer int, e overlay.Entry) bool {
	return path.Ext(e.Path) == ".pem" && e.Size <= ContentScanMaxFileBytes && f.Content.Scanned(layer)
}

// kindList joins kinds as "a PEM private key and a GitHub token".
func kindList(ks []SecretKind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
