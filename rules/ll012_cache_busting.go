package rules

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/overlay"
)

func cacheBustingOrder() Rule {
	return Rule{
		ID:       "LL012",
		Name:     "cache-busting-order",
		Severity: Warning,
		Summary:  "The whole build context is copied before dependencies are installed, so any source change reinstalls them.",
		Doc: "A builder reuses a cached step only while every step before it is unchanged, and a " +
			"`COPY . /app` changes whenever any file of the build context does. Installing " +
			"dependencies after it makes every edit of a source file download and install them " +
			"again, and ship a new dependency layer that every host must pull again. Copy only the " +
			"manifest and lock files first, install, then copy the rest: `COPY package.json " +
			"package-lock.json ./`, `RUN npm ci`, `COPY . .`. The rule reads the image history " +
			"(BuildKit's `COPY . /app # buildkit` and the classic builder's `COPY dir:<hash> in " +
			"/app`) and knows npm, yarn, pnpm, pip -r, poetry, go mod download, bundler, composer, " +
			"cargo, Maven's dependency:go-offline and Gradle's dependencies. The classic builder does " +
			"not say which directory it copied, so a `dir:` copy counts as the build context only " +
			"when it lands in the working directory. Steps of the base image are not reported.",
		Check: checkCacheBusting,
	}
}

// step is one history entry read as a Dockerfile instruction.
type step struct {
	layer   int // index of the layer it made, -1 for an empty_layer entry
	kind    stepKind
	dest    string // copy destination, or workdir, as written
	install string // dependency tool of an install step, e.g. "npm ci"
}

type stepKind uint8

const (
	stepOther stepKind = iota
	stepContextCopy
	stepDirCopy // classic builder's COPY dir:<hash>: maybe the context
	stepWorkdir
	stepInstall
)

// installers match dependency installs inside a shell command; the name is
// what the message shows.
var installers = []struct {
	name string
	re   *regexp.Regexp
}{
	{"npm ci", regexp.MustCompile(`(?:^|[\s;&|(/])npm\s+ci\b`)},
	{"npm install", regexp.MustCompile(`(?:^|[\s;&|(/])npm\s+(?:install|i)(?:\s|$|[;&|)])`)},
	{"yarn install", regexp.MustCompile(`(?:^|[\s;&|(/])yarn\s+install\b`)},
	{"pnpm install", regexp.MustCompile(`(?:^|[\s;&|(/])pnpm\s+(?:install|i)\b`)},
	{"pip install -r", regexp.MustCompile(`(?:^|[\s;&|(/])pip3?\s+install\s[^;&|]*(?:-r|--requirement)[\s=]`)},
	{"poetry install", regexp.MustCompile(`(?:^|[\s;&|(/])poetry\s+install\b`)},
	{"go mod download", regexp.MustCompile(`(?:^|[\s;&|(/])go\s+mod\s+download\b`)},
	{"bundle install", regexp.MustCompile(`(?:^|[\s;&|(/])bundle\s+install\b`)},
	{"composer install", regexp.MustCompile(`(?:^|[\s;&|(/])composer\s+install\b`)},
	{"cargo fetch", regexp.MustCompile(`(?:^|[\s;&|(/])cargo\s+fetch\b`)},
	{"cargo build", regexp.MustCompile(`(?:^|[\s;&|(/])cargo\s+build\b`)},
	{"mvn dependency:go-offline", regexp.MustCompile(`(?:^|[\s;&|(/])mvnw?\s[^;&|]*dependency:go-offline\b`)},
	{"gradle dependencies", regexp.MustCompile(`(?:^|[\s;&|(/])gradlew?\s[^;&|]*\bdependencies\b`)},
}

// parseStep reads one created_by string. Forms:
//
//	COPY . /app # buildkit                  (BuildKit)
//	RUN /bin/sh -c npm ci # buildkit        (BuildKit, shell form)
//	RUN |1 NODE_ENV=production /bin/sh -c npm ci # buildkit
//	/bin/sh -c #(nop) COPY dir:3f2a… in /app  (classic builder)
//	/bin/sh -c #(nop) WORKDIR /app          (classic builder)
//	/bin/sh -c npm ci                       (classic builder's RUN)
func parseStep(createdBy string) step {
	s := strings.TrimSpace(createdBy)
	s = strings.TrimSpace(strings.TrimSuffix(s, "# buildkit"))
	classic := false
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c #(nop)"); ok {
		s, classic = strings.TrimSpace(rest), true
	} else if strings.HasPrefix(s, "/bin/sh -c ") || strings.HasPrefix(s, "|") {
		s = "RUN " + s // the classic builder records RUN as the bare command
	}
	instr, args, _ := strings.Cut(s, " ")
	args = strings.TrimSpace(args)
	switch strings.ToUpper(instr) {
	case "RUN":
		for _, in := range installers {
			if in.re.MatchString(args) {
				return step{kind: stepInstall, install: in.name}
			}
		}
	case "WORKDIR":
		return step{kind: stepWorkdir, dest: args}
	case "COPY", "ADD":
		return parseCopy(args, classic)
	}
	return step{kind: stepOther}
}

// parseCopy reads the arguments of a COPY or ADD.
func parseCopy(args string, classic bool) step {
	if classic {
		// "dir:<hash> in <dest>", "file:<hash> in <dest>", "multi:<hash> in <dest>"
		src, dest, ok := strings.Cut(args, " in ")
		if ok && strings.HasPrefix(strings.TrimSpace(src), "dir:") {
			return step{kind: stepDirCopy, dest: strings.TrimSpace(dest)}
		}
		return step{kind: stepOther}
	}
	var words []string
	if strings.HasPrefix(args, "[") { // JSON form: COPY [".", "/app"]
		args = strings.NewReplacer("[", " ", "]", " ", ",", " ", `"`, " ").Replace(args)
	}
	for w := range strings.FieldsSeq(args) {
		if strings.HasPrefix(w, "--") {
			if strings.HasPrefix(w, "--from=") {
				return step{kind: stepOther} // from another stage or image
			}
			continue
		}
		words = append(words, w)
	}
	if len(words) < 2 {
		return step{kind: stepOther}
	}
	for _, src := range words[:len(words)-1] {
		if p := path.Clean(src); p == "." || p == "/" {
			return step{kind: stepContextCopy, dest: words[len(words)-1]}
		}
	}
	return step{kind: stepOther}
}

// historySteps parses the history, its entries paired with layers by
// analyze.HistoryOf (layer -1: an entry marked empty_layer).
func historySteps(f *Facts) []step {
	var out []step
	for _, h := range analyze.HistoryOf(f.Image) {
		st := parseStep(h.CreatedBy)
		st.layer = h.Layer
		out = append(out, st)
	}
	return out
}

// resolveDest makes a destination absolute against a working directory,
// and returns it as a model path; ok is false when it cannot be known.
func resolveDest(dest, workdir string) (string, bool) {
	if !strings.HasPrefix(dest, "/") {
		if workdir == "" {
			return "", false
		}
		dest = workdir + "/" + dest
	}
	return overlay.CleanPath(dest)
}

func checkCacheBusting(f *Facts) []Finding {
	steps := historySteps(f)
	var out []Finding
	workdir := ""
	for i, st := range steps {
		switch st.kind {
		case stepWorkdir:
			if w, ok := resolveDest(st.dest, workdir); ok {
				workdir = "/" + w
			}
			continue
		case stepContextCopy, stepDirCopy:
		case stepOther, stepInstall:
			continue
		}
		if st.layer < 0 || st.layer >= len(f.Changesets) || f.isBase(st.layer) {
			continue // no layer, a layer not analyzed (Options.Layers), or the base's
		}
		dest, known := resolveDest(st.dest, workdir)
		if st.kind == stepDirCopy && (!known || workdir == "" || "/"+dest != workdir) {
			continue // a directory copied somewhere: not known to be the context
		}
		j := slices.IndexFunc(steps[i+1:], func(s step) bool { return s.kind == stepInstall })
		if j < 0 {
			continue
		}
		inst := steps[i+1+j]
		var bytes int64
		msg := fmt.Sprintf("layer %d copies the whole build context before an empty step installs dependencies (%s): any source change reruns the install",
			st.layer, inst.install)
		if inst.layer >= 0 {
			bytes = f.contentBytes(inst.layer)
			msg = fmt.Sprintf("layer %d copies the whole build context before layer %d installs dependencies (%s): any source change reruns the install and ships a new %d-byte layer",
				st.layer, inst.layer, inst.install, bytes)
		}
		if !known {
			dest = ""
		}
		out = append(out, Finding{
			Rule:      "LL012",
			Severity:  Warning,
			Message:   msg,
			Layer:     st.layer,
			Path:      dest,
			Bytes:     bytes,
			CreatedBy: f.createdBy(st.layer),
			Fix:       fmt.Sprintf("copy only the dependency manifest and lock files first, run %s, then copy the rest of the context", inst.install),
		})
	}
	return sorted(out)
}

// isBase reports whether a layer came from the base image.
func (f *Facts) isBase(layer int) bool {
	return f.Report != nil && layer < len(f.Report.Layers) && f.Report.Layers[layer].Base
}

// contentBytes is the content of a layer, 0 when unknown.
func (f *Facts) contentBytes(layer int) int64 {
	if f.Report == nil || layer < 0 || layer >= len(f.Report.Layers) {
		return 0
	}
	return f.Report.Layers[layer].ContentBytes
}
