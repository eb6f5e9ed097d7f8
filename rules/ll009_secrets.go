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
			"build context with .dockerignore. The rule matches names only: id_rsa and other SSH " +
			"private keys, *.key, *.p12, *.pfx, *.pem files named as keys (key.pem, privkey.pem), " +
			".env, .aws/credentials, .docker/config.json, .netrc, .npmrc, .pypirc and " +
			".git-credentials. Empty files are skipped. Content scanning (a PEM \"PRIVATE KEY\" " +
			"header in any file, tokens in config files) is not available yet, so a secret under an " +
			"innocent name is missed and a certificate named key.pem is reported. Findings never " +
			"quote file content.",
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
// secret still ships.
func checkSecrets(f *Facts) []Finding {
	var out []Finding
	for layer, cs := range f.Changesets {
		if cs == nil {
			continue // layer not analyzed
		}
		seen := map[string]bool{}
		for _, e := range cs.Entries {
			if e.Kind != overlay.EntryFile || e.Size == 0 || seen[e.Path] {
				continue
			}
			kind := secretKind(e.Path)
			if kind == "" {
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
				Message:   fmt.Sprintf("%s looks like %s (by its name); it %s", abs(e.Path), kind, where),
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
