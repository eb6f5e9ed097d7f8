package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/overlay"
)

func packageLeftovers() Rule {
	return Rule{
		ID:       "LL005",
		Name:     "package-manager-leftovers",
		Severity: Warning,
		Summary:  "Package-manager indexes, downloads or caches remain in the final filesystem.",
		Doc: "Package managers keep indexes and caches so that the next install is faster; in an " +
			"image there is no next install, and the files only add to every pull. Clean them in " +
			"the same RUN that installs (a later RUN cannot take the bytes back, see LL002), use the " +
			"manager's no-cache option, or mount a build cache. Example: " +
			"`RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*`, " +
			"`RUN pip install --no-cache-dir -r requirements.txt`, `RUN apk add --no-cache curl`, or " +
			"`RUN --mount=type=cache,target=/root/.cache/go-build go build`. The finding names the " +
			"exact command for each kind of leftover found.",
		Check: checkLeftovers,
		Saves: true,
	}
}

// leftover is one kind of package-manager residue.
type leftover struct {
	// dir is reported as the finding's path.
	dir   string
	what  string
	match func(p string) bool
	fix   string
}

func under(dir string) func(string) bool {
	return func(p string) bool { return strings.HasPrefix(p, dir+"/") }
}

// leftovers lists the kinds LL005 knows, in report order.
func leftovers() []leftover {
	return []leftover{
		{"var/lib/apt/lists", "apt package lists", under("var/lib/apt/lists"),
			"rm -rf /var/lib/apt/lists/* in the same RUN as apt-get install"},
		{"var/cache/apt/archives", "apt downloaded packages", func(p string) bool {
			return under("var/cache/apt/archives")(p) && strings.HasSuffix(p, ".deb")
		}, "apt-get clean in the same RUN as apt-get install"},
		// apt's binary caches: as large as the lists they index, and
		// removed by apt-get clean too. Reported apart from the archives
		// so that the archives' finding keeps its path (and fingerprint).
		{"var/cache/apt", "apt binary caches", isAptBinCache,
			"apt-get clean in the same RUN as apt-get install"},
		{"var/cache/apk", "apk cache", under("var/cache/apk"),
			"apk add --no-cache (or rm -rf /var/cache/apk/* in the same RUN)"},
		{"var/cache/dnf", "dnf cache", under("var/cache/dnf"),
			"dnf clean all in the same RUN as dnf install"},
		{"var/cache/yum", "yum cache", under("var/cache/yum"),
			"yum clean all in the same RUN as yum install"},
		{"root/.cache/pip", "pip cache", under("root/.cache/pip"),
			"pip install --no-cache-dir"},
		{"root/.npm/_cacache", "npm cache", under("root/.npm/_cacache"),
			"npm cache clean --force in the same RUN as npm install"},
		{"usr/local/share/.cache/yarn", "yarn cache", func(p string) bool {
			return under("usr/local/share/.cache/yarn")(p) || under("root/.cache/yarn")(p)
		}, "yarn cache clean in the same RUN as yarn install"},
		{"root/.cache/go-build", "Go build cache", under("root/.cache/go-build"),
			"go clean -cache in the same RUN as go build, or RUN --mount=type=cache,target=/root/.cache/go-build"},
		{"root/go/pkg/mod", "Go module cache", under("root/go/pkg/mod"),
			"go clean -modcache in the same RUN, or build in a separate stage"},
		{"root/.m2/repository", "Maven repository", under("root/.m2/repository"),
			"rm -rf /root/.m2/repository in the same RUN as mvn, or build in a separate stage"},
		{"root/.gradle/caches", "Gradle caches", under("root/.gradle/caches"),
			"rm -rf /root/.gradle/caches in the same RUN as gradle, or build in a separate stage"},
		{"root/.cargo/registry", "Cargo registry", under("root/.cargo/registry"),
			"rm -rf /root/.cargo/registry in the same RUN as cargo, or build in a separate stage"},
		{"site-packages/**/__pycache__", "Python bytecode caches in site-packages", isSitePycache,
			"pip install --no-compile, or find / -path '*-packages/*' -name __pycache__ -type d -prune -exec rm -rf {} + in the same RUN"},
	}
}

// isAptBinCache matches pkgcache.bin and srcpkgcache.bin, the *.bin
// files directly under var/cache/apt.
func isAptBinCache(p string) bool {
	dir, name := path.Split(p)
	return dir == "var/cache/apt/" && strings.HasSuffix(name, ".bin")
}

// isSitePycache matches __pycache__ content of installed Python packages
// (site-packages, or dist-packages on Debian).
func isSitePycache(p string) bool {
	return strings.Contains(p, "/__pycache__/") &&
		(strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/"))
}

func checkLeftovers(f *Facts) []Finding {
	var out []Finding
	for _, k := range leftovers() {
		var files int
		var bytes int64
		var layers []int
		for _, fl := range f.Files {
			if fl.Type != overlay.TypeRegular || !k.match(fl.Path) {
				continue
			}
			files++
			bytes += fl.Size
			if !slices.Contains(layers, fl.Layer) {
				layers = append(layers, fl.Layer)
			}
		}
		if bytes == 0 {
			continue // lock files and empty dirs cost nothing
		}
		slices.Sort(layers)
		// Report at the last layer that added some: the most recent
		// install step is where the cleanup belongs.
		last := layers[len(layers)-1]
		out = append(out, Finding{
			Rule:      "LL005",
			Severity:  Warning,
			Message:   fmt.Sprintf("%s: %s, %d bytes from %s remain in the image", k.what, textfmt.Plural(files, "file", "files"), bytes, layerList(layers)),
			Layer:     last,
			Path:      k.dir,
			Bytes:     bytes,
			CreatedBy: f.createdBy(last),
			Fix:       k.fix,
		})
	}
	return sorted(out)
}
