package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules/gate"
)

func TestReadBuildInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info *debug.BuildInfo
		want buildInfo
	}{
		{"no build info", nil, buildInfo{Version: "dev"}},
		{"go build in a checkout", &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"},
				{Key: "vcs.time", Value: "2026-11-30T06:00:00Z"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
			},
		}, buildInfo{Version: "dev", Commit: "0123abc", Modified: true, Time: "2026-11-30T06:00:00Z", Go: "go1.26.8", Platform: "linux/arm64"}},
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			buildInfo{Version: "v1.2.3", Go: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readBuildInfo(func() (*debug.BuildInfo, bool) { return tt.info, tt.info != nil })
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInfoCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
		inStderr string
	}{
		{"version", []string{"version"}, ExitOK, []string{"version", "go1."}, ""},
		{"version json", []string{"version", "--format", "json"}, ExitOK, []string{`"go": "go1.`}, ""},
		{"version bad format", []string{"version", "--format", "xml"}, ExitInput, nil, "--format"},
		{"rules", []string{"rules"}, ExitOK, []string{"ID", "LL001", "overwritten-files", "warning", "dive/lowestEfficiency"}, ""},
		{"explain ID", []string{"explain", "LL004"}, ExitOK, []string{"# LL004: duplicate-content", "Why and how to fix"}, ""},
		{"explain lower case", []string{"explain", "ll4"}, ExitOK, []string{"# LL004:"}, ""},
		{"explain number", []string{"explain", "10"}, ExitOK, []string{"# LL010:"}, ""},
		{"explain name", []string{"explain", "duplicate-content"}, ExitOK, []string{"# LL004:"}, ""},
		{"explain dive rule", []string{"explain", "dive/lowestEfficiency"}, ExitOK, []string{"# dive/lowestEfficiency:"}, ""},
		{"explain unknown", []string{"explain", "LL999"}, ExitInput, nil, "the rules are LL001, LL002"},
		{"explain nothing", []string{"explain"}, ExitInput, nil, "expected one RULE"},
		{"completion unknown shell", []string{"completion", "tcsh"}, ExitInput, nil, "bash, zsh or fish"},
		{"completion bash", []string{"completion", "bash"}, ExitOK, []string{"complete -o bashdefault -o default -F _layerlint_complete layerlint"}, ""},
		{"completion zsh", []string{"completion", "zsh"}, ExitOK, []string{"#compdef layerlint"}, ""},
		{"completion fish", []string{"completion", "fish"}, ExitOK, []string{"complete -c layerlint", "-a 'lint'"}, ""},
		{"man", []string{"man"}, ExitOK, []string{".TH layerlint 1", ".SH lint"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			for _, s := range tt.inStdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if !strings.Contains(errs, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, errs)
			}
		})
	}
}

func TestRulesJSONIsTheCatalog(t *testing.T) {
	t.Parallel()
	code, out, errs := runCLI(t, "rules", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []ruleEntry
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	cat := gate.Catalog()
	if len(got) != len(cat) {
		t.Fatalf("%d rules, want %d", len(got), len(cat))
	}
	for i, r := range cat {
		if got[i].ID != r.ID || got[i].Name != r.Name || got[i].Severity != r.Severity.String() || got[i].Summary != r.Summary {
			t.Errorf("rule %d: %+v, want %s %s %s", i, got[i], r.ID, r.Name, r.Severity)
		}
	}
}

// TestEveryRuleExplained: explain finds every rule of the catalogue by its
// ID and by its name, and prints its page.
func TestEveryRuleExplained(t *testing.T) {
	t.Parallel()
	for _, r := range gate.Catalog() {
		for _, arg := range []string{r.ID, r.Name} {
			code, out, errs := runCLI(t, "explain", arg)
			if code != ExitOK || !strings.HasPrefix(out, "# "+r.ID+": ") || strings.Contains(out, "<!--") {
				t.Errorf("explain %s: exit %d\n%s%s", arg, code, out, errs)
			}
		}
	}
}

// TestBashCompletion sources the script in bash and asks it to complete,
// as bash does on TAB: the candidates come from the built binary.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash := testenv.LookPath(t, "bash")
	dir := binaryDir(t)
	tests := []struct {
		line string // the words typed; the last one is being completed
		want []string
		not  []string
	}{
		{"layerlint l", []string{"lint", "ls"}, []string{"analyze", "docs"}},
		{"layerlint ", []string{"analyze", "completion", "explain", "fix", "version"}, []string{"docs"}},
		{"layerlint lint --fail", []string{"--fail-on"}, []string{"--format"}},
		{"layerlint completion ", []string{"bash", "fish", "zsh"}, nil},
		{"layerlint explain LL00", []string{"LL001", "LL004", "LL009"}, []string{"LL100", "lint"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			script := `source <(layerlint completion bash)
COMP_WORDS=(` + tt.line + `)
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_layerlint_complete
printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command(bash, "-c", script)
			cmd.Env = append(os.Environ(), pathWith(dir), "LINE="+tt.line)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("candidates %v lack %q", got, w)
				}
			}
			for _, w := range tt.not {
				if slices.Contains(got, w) {
					t.Errorf("candidates %v offer %q", got, w)
				}
			}
		})
	}
}

// TestZshCompletion loads the script in zsh with _describe stubbed to
// print what it would offer.
func TestZshCompletion(t *testing.T) {
	t.Parallel()
	zsh := testenv.LookPath(t, "zsh")
	dir := binaryDir(t)
	script := `compdef() { :; }
_describe() { print -l -- "${(@P)2}"; }
_files() { print FILES; }
source <(layerlint completion zsh)
words=(layerlint "")
_layerlint
words=(layerlint lint --fai)
_layerlint`
	cmd := exec.Command(zsh, "-f", "-c", script)
	cmd.Env = append(os.Environ(), pathWith(dir))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"lint", "explain", "--fail-on"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("zsh offers no %q:\n%s", w, out)
		}
	}
}

// TestFishCompletion loads the generated script in fish and asks for the
// completions of a command line.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	fish := testenv.LookPath(t, "fish")
	dir := binaryDir(t)
	cmd := exec.Command(fish, "--no-config", "-c", `layerlint completion fish | source; complete -C "layerlint li"; complete -C "layerlint lint --fail"`)
	cmd.Env = append(os.Environ(), pathWith(dir))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"lint\t", "--fail-on\t"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("fish offers no %q:\n%s", w, out)
		}
	}
}

func TestManPageListsEveryCommand(t *testing.T) {
	t.Parallel()
	app := newApp(nil, nil)
	page, err := manPage(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range app.Commands {
		if has := strings.Contains(string(page), ".SH "+c.Name+"\n"); has == c.Hidden {
			t.Errorf("command %s (hidden %v) in the man page: %v", c.Name, c.Hidden, has)
		}
	}
}

// TestEveryFlagHasAnEnvironmentVariable: bindEnv knows every flag type the
// commands use, so no visible flag is left without its variable.
func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, c := range newApp(nil, nil).Commands {
		if c.Hidden {
			continue
		}
		for _, f := range c.Flags {
			ev, ok := f.(interface{ GetEnvVars() []string })
			if !ok || len(ev.GetEnvVars()) != 1 || !strings.HasPrefix(ev.GetEnvVars()[0], envPrefix) {
				t.Errorf("%s --%s has no LAYERLINT_ variable", c.Name, f.Names()[0])
				continue
			}
			v := ev.GetEnvVars()[0]
			if prev, dup := seen[v]; dup && prev != f.Names()[0] {
				t.Errorf("%s names both --%s and --%s", v, prev, f.Names()[0])
			}
			seen[v] = f.Names()[0]
		}
	}
	if _, ok := seen["LAYERLINT_NO_SKIP"]; ok {
		t.Error("a flag's variable collides with the test switch LAYERLINT_NO_SKIP")
	}
}

// TestEnvironmentPrecedence: flag > environment > configuration file >
// default, on lint's fail-on (the one setting all four can give) and on
// plain flags.
func TestEnvironmentPrecedence(t *testing.T) {
	warnCfg := writeTemp(t, ".layerlint.yaml", "failOn: warning\n")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"config alone fails on warnings", nil, []string{"lint", "--config", warnCfg, sample}, ExitFailed, "Verdict FAIL", ""},
		{"environment beats config", map[string]string{"LAYERLINT_LINT_FAIL_ON": "never"}, []string{"lint", "--config", warnCfg, sample}, ExitOK, "Verdict pass", ""},
		{"flag beats environment", map[string]string{"LAYERLINT_LINT_FAIL_ON": "never"}, []string{"lint", "--config", warnCfg, "--fail-on", "warning", sample}, ExitFailed, "Verdict FAIL", ""},
		{"environment beats default", map[string]string{"LAYERLINT_ANALYZE_FORMAT": "json"}, []string{"analyze", sample}, ExitOK, `"schemaVersion"`, ""},
		{"flag beats environment (format)", map[string]string{"LAYERLINT_ANALYZE_FORMAT": "json"}, []string{"analyze", "--format", "text", sample}, ExitOK, "Top wasted paths", ""},
		{"shared variable reaches every command", map[string]string{"LAYERLINT_MAX_LAYER_ENTRIES": "3"}, []string{"analyze", sample}, ExitInput, "", "--max-layer-entries"},
		{"command variable stays in its command", map[string]string{"LAYERLINT_LINT_FORMAT": "json"}, []string{"analyze", sample}, ExitOK, "Top wasted paths", ""},
		// Without the check the corrupt blob reads as a bad tar (exit 2), not as a digest mismatch (3);
		// without --no-cache, the sample's layers cached by other tests would not be read at all.
		{"boolean", map[string]string{"LAYERLINT_NO_VERIFY": "true"}, []string{"analyze", "--no-cache", imagetest.CorruptSample(t, 1)}, ExitInput, "", "malformed tar"},
		{"bad value names the variable", map[string]string{"LAYERLINT_ANALYZE_TOP": "many"}, []string{"analyze", sample}, ExitInput, "", "LAYERLINT_ANALYZE_TOP"},
		{"bad boolean names the variable", map[string]string{"LAYERLINT_NO_VERIFY": "perhaps"}, []string{"analyze", sample}, ExitInput, "", "LAYERLINT_NO_VERIFY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.inStdout, out)
			}
			if !strings.Contains(errs, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, errs)
			}
		})
	}
}
