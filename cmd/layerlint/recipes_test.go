package main

// The CI recipes of docs/ci are run here as CI would run them: the
// workflow and job files are parsed, every shell step is run with bash
// against fixture images with the built layerlint first on PATH, and the
// hook runs in a temporary git repository. What cannot exist on a test
// machine is replaced by a stand-in script, each named in recipeStubs:
// the GitHub API (gh), the builders that need a daemon or their own
// container (docker buildx, kaniko's executor), and `go install` of a
// release (the binary under test is already on PATH). Actions (`uses:`)
// are not run; the files they are given are checked instead.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testenv"
)

const ciDir = "../../docs/ci"

// recipeStubs are the stand-ins, as bash scripts. Each logs its arguments
// to $STUB_LOG. The builders read the fixture to "build" from the first
// line of the context's Dockerfile ("# fixture: NAME") and copy
// $FIXTURES/NAME (a layout) or $FIXTURES/NAME.tar (an OCI archive), the
// forms BuildKit and kaniko write.
var recipeStubs = map[string]string{
	"gh": `echo "gh $*" >> "$STUB_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = --body-file ]; then cat "$2" > "$STUB_LOG.body"; fi
  shift
done`,
	"go": `echo "go $*" >> "$STUB_LOG"
case "$1 $2" in
  "install github.com/layerlint/layerlint/cmd/layerlint@"*) exit 0 ;;
esac
echo "go stub: only go install of layerlint is stubbed" >&2; exit 1`,
	"docker": `echo "docker $*" >> "$STUB_LOG"
[ "$1 $2" = "buildx build" ] || { echo "docker stub: only buildx build" >&2; exit 1; }
shift 2
out= ctx=
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift ;;
    --output=*) out=${1#--output=} ;;
    --quiet) ;;
    -*) echo "docker stub: unknown flag $1" >&2; exit 1 ;;
    *) ctx=$1 ;;
  esac
  shift
done
fixture=$(sed -n 's/^# fixture: //p' "$ctx/Dockerfile" | head -n1)
[ -n "$fixture" ] || { echo "docker stub: no fixture named in $ctx/Dockerfile" >&2; exit 1; }
dest= tar=true
IFS=, ; for kv in $out; do
  case "$kv" in type=oci) ;; dest=*) dest=${kv#dest=} ;; tar=*) tar=${kv#tar=} ;; *) echo "docker stub: output $kv" >&2; exit 1 ;; esac
done
if [ "$tar" = false ]; then rm -rf "$dest"; cp -R "$FIXTURES/$fixture" "$dest"; else cp "$FIXTURES/$fixture.tar" "$dest"; fi`,
	"executor": `echo "executor $*" >> "$STUB_LOG"
ctx= layout=
while [ $# -gt 0 ]; do
  case "$1" in
    --context) ctx=$2; shift ;;
    --oci-layout-path) layout=$2; shift ;;
    --dockerfile) shift ;;
    --no-push) ;;
    *) echo "executor stub: unknown argument $1" >&2; exit 1 ;;
  esac
  shift
done
fixture=$(sed -n 's/^# fixture: //p' "$ctx/Dockerfile" | head -n1)
rm -rf "$layout"; cp -R "$FIXTURES/$fixture" "$layout"`,
}

// recipeEnv is a place to run recipes: stubs and the binary on PATH,
// fixture images written as layouts and OCI archives.
type recipeEnv struct {
	t        *testing.T
	bin      string // holds layerlint
	stubs    string
	fixtures string
	log      string
}

func newRecipeEnv(t *testing.T) *recipeEnv {
	t.Helper()
	testenv.LookPath(t, "bash")
	e := &recipeEnv{t: t, bin: binaryDir(t), stubs: t.TempDir(), fixtures: t.TempDir()}
	e.log = filepath.Join(t.TempDir(), "stub.log")
	for name, body := range recipeStubs {
		if err := os.WriteFile(filepath.Join(e.stubs, name), []byte("#!/bin/bash\nset -eu\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.fixture("clean", cleanImage())
	e.fixture("clean-old", fixtures.NewImage().Add(fixtures.NewLayer().Dir("app").File("app/run.sh", []byte("#!/bin/sh\necho v1\n"), fixtures.Mode(0o755)), fixtures.CreatedBy("COPY run.sh /app/")))
	e.fixture("sample", fixtures.Sample())
	return e
}

// cleanImage has nothing any rule reports at warning or above.
func cleanImage() *fixtures.Image {
	return fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("app").File("app/run.sh", []byte("#!/bin/sh\necho v2\n"), fixtures.Mode(0o755)), fixtures.CreatedBy("COPY run.sh /app/")).
		Add(fixtures.NewLayer().Dir("app").File("app/config.yaml", []byte("port: 8080\n")), fixtures.CreatedBy("COPY config.yaml /app/"))
}

func (e *recipeEnv) fixture(name string, img *fixtures.Image) {
	e.t.Helper()
	if _, err := img.WriteOCILayout(filepath.Join(e.fixtures, name)); err != nil {
		e.t.Fatal(err)
	}
	if err := img.WriteOCIArchive(filepath.Join(e.fixtures, name+".tar")); err != nil {
		e.t.Fatal(err)
	}
}

// environ is the environment of a recipe's shell: the stubs first, then
// layerlint, then the system's tools.
func (e *recipeEnv) environ(extra map[string]string) []string {
	env := []string{
		"PATH=" + e.stubs + string(os.PathListSeparator) + e.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"FIXTURES=" + e.fixtures,
		"STUB_LOG=" + e.log,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// shell runs script as a CI runner does (bash, errexit, pipefail) in dir.
func (e *recipeEnv) shell(dir, script string, env map[string]string) (code int, out string) {
	e.t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = e.environ(env)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(b)
	case err != nil:
		e.t.Fatalf("running %q: %v", script, err)
	}
	return 0, string(b)
}

func (e *recipeEnv) stubLog() string {
	b, _ := os.ReadFile(e.log)
	return string(b)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func git(t *testing.T, e *recipeEnv, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e.environ(nil)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// failOnWarning makes the sample's warnings fail the gate.
const failOnWarning = "failOn: warning\n"

// ---- GitHub Actions ----

type ghWorkflow struct {
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []ghStep          `yaml:"steps"`
	} `yaml:"jobs"`
}

type ghStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	Env  map[string]string `yaml:"env"`
	With map[string]string `yaml:"with"`
}

// ghExpressions are the values of the ${{ }} expressions the workflow
// uses, as GitHub would give them for pull request 7 from a branch of the
// same repository.
var ghExpressions = map[string]string{
	"github.base_ref":                  "main",
	"github.token":                     "test-token",
	"github.event.pull_request.number": "7",
	"github.event.pull_request.head.repo.full_name == github.repository": "true",
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func expandGH(t *testing.T, s string) string {
	t.Helper()
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := ghExpressions[ghExpr.FindStringSubmatch(m)[1]]
		if !ok {
			t.Fatalf("the test does not know the value of %s: add it to ghExpressions", m)
		}
		return v
	})
}

func TestGitHubWorkflowLints(t *testing.T) {
	actionlint := testenv.LookPath(t, "actionlint")
	args := []string{"-shellcheck="}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		args = []string{"-shellcheck=" + sc}
	}
	out, err := exec.Command(actionlint, append(args, filepath.Join(ciDir, "github-actions.yml"))...).CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestGitHubWorkflow runs the workflow's run: steps, in order, in a clone
// whose origin has the base branch, for a clean pull request and for one
// whose image fails the gate.
func TestGitHubWorkflow(t *testing.T) {
	var wf ghWorkflow
	readYAML(t, filepath.Join(ciDir, "github-actions.yml"), &wf)
	job, ok := wf.Jobs["image"]
	if !ok {
		t.Fatal("no job image")
	}
	tests := []struct {
		name     string
		fixture  string
		extra    map[string]string // files of the pull request besides the Dockerfile
		failStep string            // the only step that fails, if any
	}{
		{"clean", "clean", nil, ""},
		{"fails the gate", "sample", map[string]string{".layerlint.yaml": failOnWarning}, "Lint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRecipeEnv(t)
			ws := pullRequestClone(t, e, "clean-old", tt.fixture, tt.extra)
			runnerTemp, summary := t.TempDir(), filepath.Join(t.TempDir(), "summary.md")
			ran := 0
			for _, st := range job.Steps {
				if st.Run == "" {
					checkGHAction(t, ws, st)
					continue
				}
				env := map[string]string{"RUNNER_TEMP": runnerTemp, "GITHUB_STEP_SUMMARY": summary, "GITHUB_WORKSPACE": ws, "CI": "true", "GITHUB_ACTIONS": "true"}
				for k, v := range job.Env {
					env[k] = expandGH(t, v)
				}
				for k, v := range st.Env {
					env[k] = expandGH(t, v)
				}
				if ghExpr.MatchString(st.Run) {
					t.Errorf("step %q puts an expression in its script; pass it through env:", st.Name)
				}
				code, out := e.shell(ws, st.Run, env)
				ran++
				if failed := code != 0; failed != (st.Name == tt.failStep) {
					t.Fatalf("step %q: exit %d (want failure: %v)\n%s", st.Name, code, st.Name == tt.failStep, out)
				}
				if st.Name == "Lint" && tt.failStep == "Lint" && !strings.Contains(out, "::warning ") {
					t.Errorf("the gate printed no annotations:\n%s", out)
				}
			}
			if ran < 4 {
				t.Errorf("only %d run steps", ran)
			}
			log := e.stubLog()
			// The base was built from the base branch, the head from the pull request.
			if !strings.Contains(log, "docker buildx build --output type=oci,dest="+runnerTemp+"/new.tar .") ||
				!strings.Contains(log, "dest="+runnerTemp+"/old.tar "+runnerTemp+"/base") {
				t.Errorf("builds:\n%s", log)
			}
			if !strings.Contains(log, "gh pr comment 7 --edit-last --body-file layerlint-diff.md") {
				t.Errorf("no comment posted:\n%s", log)
			}
			body, _ := os.ReadFile(e.log + ".body")
			if !bytes.Contains(body, []byte("layerlint diff")) || !bytes.Contains(body, []byte("<details>")) {
				t.Errorf("the comment is not the Markdown diff:\n%s", body)
			}
			if s, _ := os.ReadFile(summary); !bytes.Equal(s, body) {
				t.Error("the job summary is not the comment")
			}
		})
	}
}

// pullRequestClone makes an origin whose main branch builds fixture base,
// clones it, and commits on a branch a Dockerfile that builds fixture head
// (plus extra files): the checkout of a pull request.
func pullRequestClone(t *testing.T, e *recipeEnv, base, head string, extra map[string]string) string {
	t.Helper()
	origin, seed, ws := t.TempDir(), t.TempDir(), t.TempDir()
	git(t, e, origin, "init", "-q", "--bare", "-b", "main")
	git(t, e, seed, "init", "-q", "-b", "main")
	writeFiles(t, seed, map[string]string{"Dockerfile": "# fixture: " + base + "\nFROM scratch\n"})
	git(t, e, seed, "add", ".")
	git(t, e, seed, "commit", "-qm", "base")
	git(t, e, seed, "push", "-q", origin, "main")
	git(t, e, ws, "clone", "-q", origin, ".")
	git(t, e, ws, "checkout", "-qb", "pr")
	files := map[string]string{"Dockerfile": "# fixture: " + head + "\nFROM scratch\n"}
	for k, v := range extra {
		files[k] = v
	}
	writeFiles(t, ws, files)
	git(t, e, ws, "add", ".")
	git(t, e, ws, "commit", "-qm", "change the image")
	return ws
}

// checkGHAction checks what a uses: step would be given.
func checkGHAction(t *testing.T, ws string, st ghStep) {
	t.Helper()
	name, _, _ := strings.Cut(st.Uses, "@")
	switch name {
	case "actions/checkout", "actions/setup-go", "docker/setup-buildx-action":
		// The test's clone, Go and the docker stub stand in for them.
	case "github/codeql-action/upload-sarif":
		checkSARIF(t, filepath.Join(ws, st.With["sarif_file"]))
	default:
		t.Errorf("step uses %s, which the test does not know", st.Uses)
	}
}

func checkSARIF(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the SARIF file to upload: %v", err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name string `json:"name"`
				} `json:"driver"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Name != "layerlint" {
		t.Errorf("%s is not a SARIF 2.1.0 log of layerlint: %v\n%.300s", p, err, b)
	}
}

func readYAML(t *testing.T, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// ---- GitLab CI ----

type glJob struct {
	Stage        string            `yaml:"stage"`
	Needs        []string          `yaml:"needs"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	Artifacts    struct {
		When    string   `yaml:"when"`
		Paths   []string `yaml:"paths"`
		Reports struct {
			JUnit string `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// TestGitLabJob runs the build job, then the layerlint job, as a GitLab
// runner would (each job's script lines in one shell that stops at the
// first failure), in a project folder, and reads the JUnit report.
func TestGitLabJob(t *testing.T) {
	var file map[string]yaml.Node
	readYAML(t, filepath.Join(ciDir, "gitlab-ci.yml"), &file)
	jobs := map[string]glJob{}
	for _, name := range []string{"build-image", "layerlint"} {
		n, ok := file[name]
		if !ok {
			t.Fatalf("no job %s", name)
		}
		var j glJob
		if err := n.Decode(&j); err != nil {
			t.Fatal(err)
		}
		jobs[name] = j
	}
	lj := jobs["layerlint"]
	if !slices.Contains(lj.Needs, "build-image") || lj.Artifacts.When != "always" || lj.Artifacts.Reports.JUnit == "" {
		t.Fatalf("the layerlint job must need build-image and always upload a JUnit report: %+v", lj)
	}
	tests := []struct {
		name     string
		fixture  string
		extra    map[string]string
		code     int
		failures bool
	}{
		{"clean", "clean", nil, 0, false},
		{"fails the gate", "sample", map[string]string{".layerlint.yaml": failOnWarning}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRecipeEnv(t)
			project := t.TempDir()
			files := map[string]string{"Dockerfile": "# fixture: " + tt.fixture + "\nFROM scratch\n"}
			for k, v := range tt.extra {
				files[k] = v
			}
			writeFiles(t, project, files)
			for _, name := range []string{"build-image", "layerlint"} {
				j := jobs[name]
				env := map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": project}
				for k, v := range j.Variables {
					env[k] = v
				}
				script := strings.Join(append(slices.Clone(j.BeforeScript), j.Script...), "\n")
				// kaniko's image has its executor at /kaniko/executor (also on its PATH).
				script = strings.ReplaceAll(script, "/kaniko/executor", "executor")
				code, out := e.shell(project, script, env)
				want := 0
				if name == "layerlint" {
					want = tt.code
				}
				if code != want {
					t.Fatalf("job %s: exit %d, want %d\n%s", name, code, want, out)
				}
				for _, p := range j.Artifacts.Paths {
					if _, err := os.Stat(filepath.Join(project, p)); err != nil {
						t.Errorf("job %s: artifact %s: %v", name, p, err)
					}
				}
			}
			report, err := os.ReadFile(filepath.Join(project, lj.Artifacts.Reports.JUnit))
			if err != nil {
				t.Fatalf("the JUnit report: %v", err)
			}
			var suites struct {
				XMLName  xml.Name `xml:"testsuites"`
				Tests    int      `xml:"tests,attr"`
				Failures int      `xml:"failures,attr"`
			}
			if err := xml.Unmarshal(report, &suites); err != nil || suites.Tests == 0 || (suites.Failures > 0) != tt.failures {
				t.Errorf("JUnit report: %v, %d tests, %d failures (want failures: %v)", err, suites.Tests, suites.Failures, tt.failures)
			}
		})
	}
}

// ---- pre-push hook ----

// TestPrePushHook installs the hook in a repository and pushes to a bare
// remote: a commit whose image fails the gate is refused, a clean one goes
// through, and deleting a branch needs no image.
func TestPrePushHook(t *testing.T) {
	testenv.LookPath(t, "git")
	testenv.LookPath(t, "sh")
	e := newRecipeEnv(t)
	remote, repo := t.TempDir(), t.TempDir()
	git(t, e, remote, "init", "-q", "--bare", "-b", "main")
	git(t, e, repo, "init", "-q", "-b", "main")
	git(t, e, repo, "remote", "add", "origin", remote)
	hook, err := os.ReadFile(filepath.Join(ciDir, "pre-push"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".git", "hooks", "pre-push"), hook, 0o755); err != nil {
		t.Fatal(err)
	}
	// The build: the image named in the Dockerfile, through the same
	// docker stand-in as the workflow (the hook's default command).
	writeFiles(t, repo, map[string]string{".gitignore": ".layerlint/\n", ".layerlint.yaml": failOnWarning})

	push := func(fixture string, args ...string) (int, string) {
		if fixture != "" {
			writeFiles(t, repo, map[string]string{"Dockerfile": "# fixture: " + fixture + "\nFROM scratch\n"})
			git(t, e, repo, "add", ".")
			git(t, e, repo, "commit", "-qm", "image "+fixture)
		}
		return e.shell(repo, "git push "+strings.Join(args, " "), nil)
	}
	remoteHead := func(branch string) string {
		out, _ := exec.Command("git", "-C", remote, "rev-parse", "--verify", "-q", branch).Output()
		return strings.TrimSpace(string(out))
	}

	if code, out := push("sample", "-q", "origin", "main"); code == 0 || !strings.Contains(out, "push refused by the findings above") || !strings.Contains(out, "LL002") {
		t.Fatalf("failing image pushed: exit %d\n%s", code, out)
	}
	if h := remoteHead("main"); h != "" {
		t.Fatalf("the remote has main at %s after a refused push", h)
	}
	if code, out := push("clean", "-q", "origin", "main"); code != 0 {
		t.Fatalf("clean image refused: exit %d\n%s", code, out)
	}
	if remoteHead("main") == "" {
		t.Fatal("the clean push did not arrive")
	}
	// A broken build refuses the push with the reason, not a lint verdict.
	writeFiles(t, repo, map[string]string{"Dockerfile": "FROM scratch\n"})
	git(t, e, repo, "commit", "-qam", "no fixture")
	if code, out := e.shell(repo, "git push -q origin main", nil); code == 0 || !strings.Contains(out, "no fixture named") {
		t.Fatalf("push with a failing build: exit %d\n%s", code, out)
	}
	// Deleting a branch builds nothing.
	git(t, e, repo, "push", "-q", "--no-verify", "origin", "main:old")
	before := strings.Count(e.stubLog(), "docker buildx")
	if code, out := e.shell(repo, "git push -q origin :old", nil); code != 0 {
		t.Fatalf("deleting a branch: exit %d\n%s", code, out)
	}
	if after := strings.Count(e.stubLog(), "docker buildx"); after != before {
		t.Errorf("deleting a branch built the image (%d builds, want %d)", after, before)
	}
	// The configured build and image path are used instead of the defaults.
	git(t, e, repo, "config", "layerlint.image", "out/layout")
	git(t, e, repo, "config", "layerlint.build", `rm -rf out/layout && mkdir -p out && cp -R "$FIXTURES/clean" out/layout`)
	if code, out := e.shell(repo, "git push -q origin main", nil); code != 0 {
		t.Fatalf("push with a configured build: exit %d\n%s", code, out)
	}
}

// ---- getting an image without a daemon ----

// TestImageRecipes runs each tested block of docs/ci/images.md. The
// registry is crane's, on 127.0.0.1, holding the sample image.
func TestImageRecipes(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(ciDir, "images.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := testedBlocks(string(page))
	for _, want := range []string{"buildx", "podman", "skopeo", "crane", "kaniko"} {
		if _, ok := blocks[want]; !ok {
			t.Errorf("images.md has no tested block %q", want)
		}
	}
	e := newRecipeEnv(t)
	var reg string // started on first use, stopped when the whole test ends
	parent := t
	registry := func(*testing.T) string {
		if reg == "" {
			reg = startRegistry(parent, e)
		}
		return reg
	}
	for name, block := range blocks {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"Dockerfile": "# fixture: sample\nFROM scratch\n"})
			env := map[string]string{}
			switch name {
			case "buildx", "kaniko":
				// Stand-ins write the sample as the builder would.
				block = strings.ReplaceAll(block, "/kaniko/executor", "executor")
			case "crane":
				testenv.LookPath(t, "crane")
				env["IMAGE"] = registry(t) + "/team/app:1"
			case "skopeo":
				testenv.LookPath(t, "skopeo")
				env["IMAGE"] = registry(t) + "/team/app:1"
				// The test's registry speaks plain HTTP.
				block = strings.ReplaceAll(block, "skopeo copy ", "skopeo copy --src-tls-verify=false ")
			case "podman":
				testenv.LookPath(t, "podman")
				env["IMAGE"] = registry(t) + "/team/app:1"
				for k, v := range podmanEnv(t, env["IMAGE"]) {
					env[k] = v
				}
				if code, out := e.shell(dir, `podman pull -q "docker://$IMAGE"`, env); code != 0 {
					t.Fatalf("loading the sample into podman's store: exit %d\n%s", code, out)
				}
			default:
				t.Fatalf("no setup for block %q", name)
			}
			code, out := e.shell(dir, block, env)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			// Every lint in the block read the sample whole.
			n := strings.Count(block, "layerlint lint")
			if got := strings.Count(out, "Verdict pass"); got != n || n == 0 {
				t.Errorf("%d verdicts for %d lint commands:\n%s", got, n, out)
			}
			if got := strings.Count(out, "LL002"); got < n {
				t.Errorf("the sample's deleted files (LL002) reported %d times for %d lint commands:\n%s", got, n, out)
			}
		})
	}
}

// testedBlocks returns the sh blocks that follow a "<!-- tested: NAME -->"
// line.
func testedBlocks(page string) map[string]string {
	re := regexp.MustCompile("(?s)<!-- tested: ([a-z]+) -->\n```sh\n(.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// startRegistry starts `crane registry serve` on a free loopback port and
// pushes the sample to it as team/app:1.
func startRegistry(t *testing.T, e *recipeEnv) string {
	t.Helper()
	crane := testenv.LookPath(t, "crane")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(crane, "registry", "serve", "--address", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait for it to answer (counted attempts, each one blocking on the
	// connection, never a time budget asserted).
	up := false
	for range 200 {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			up = true
			break
		}
		if code, _ := e.shell(t.TempDir(), "sleep 0.05", nil); code != 0 {
			break
		}
	}
	if !up {
		t.Fatal("crane registry did not answer")
	}
	if out, err := exec.Command(crane, "push", filepath.Join(e.fixtures, "sample"), addr+"/team/app:1").CombinedOutput(); err != nil {
		t.Fatalf("crane push: %v\n%s", err, out)
	}
	return addr
}

// podmanEnv points podman at a store in a temporary folder (vfs, no
// privileges beyond the test's) and lets it pull from the test registry.
func podmanEnv(t *testing.T, image string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	host, _, _ := strings.Cut(image, "/")
	writeFiles(t, dir, map[string]string{
		"storage.conf":    fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n", filepath.Join(dir, "graph"), filepath.Join(dir, "run")),
		"registries.conf": fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", host),
	})
	return map[string]string{
		"CONTAINERS_STORAGE_CONF":    filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF": filepath.Join(dir, "registries.conf"),
		"XDG_RUNTIME_DIR":            filepath.Join(dir, "xdg"),
	}
}
