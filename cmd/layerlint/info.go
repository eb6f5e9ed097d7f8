package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// buildInfo is what `layerlint version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Time     string `json:"time,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform,omitempty"`
}

// readBuildInfo takes the version from -ldflags when a release set it,
// else from the module version `go install …@vX` records; the commit and
// the Go version come from the build info the toolchain embeds.
func readBuildInfo(read func() (*debug.BuildInfo, bool)) buildInfo {
	bi := buildInfo{Version: version}
	info, ok := read()
	if !ok {
		return bi
	}
	bi.Go = info.GoVersion
	if bi.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		bi.Version = info.Main.Version
	}
	var goos, goarch string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		case "vcs.time":
			bi.Time = s.Value
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos != "" {
		bi.Platform = goos + "/" + goarch
	}
	return bi
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the commit and the Go version it was built with",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text` or json"},
		},
		Action: func(c *cli.Context) error {
			bi := readBuildInfo(debug.ReadBuildInfo)
			switch c.String("format") {
			case "text":
				return writeVersionText(c.App.Writer, bi)
			case "json":
				return writeJSON(c.App.Writer, bi)
			}
			return withCode(ExitInput, fmt.Errorf("version: --format %q: want text or json", c.String("format")))
		},
	}
}

func writeVersionText(w io.Writer, bi buildInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\n", bi.Version)
	if bi.Commit != "" {
		commit := bi.Commit
		if bi.Modified {
			commit += " (modified)"
		}
		fmt.Fprintf(tw, "commit\t%s\n", commit)
	}
	if bi.Time != "" {
		fmt.Fprintf(tw, "committed\t%s\n", bi.Time)
	}
	if bi.Go != "" {
		fmt.Fprintf(tw, "go\t%s\n", bi.Go)
	}
	if bi.Platform != "" {
		fmt.Fprintf(tw, "platform\t%s\n", bi.Platform)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ruleEntry is one rule in `layerlint rules --format json`.
type ruleEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Doc      string `json:"doc"`
}

func rulesCommand() *cli.Command {
	return &cli.Command{
		Name:  "rules",
		Usage: "list the rules lint applies: ID, name, default severity and summary",
		Description: "The catalogue of docs/rules/: the image rules (LL001-LL099), the gate's checks\n" +
			"(LL100-LL199, on only when configured) and the rules of a .dive-ci. `layerlint explain ID`\n" +
			"prints one rule's page.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text` or json"},
		},
		Action: func(c *cli.Context) error {
			cat := gate.Catalog()
			switch c.String("format") {
			case "text":
				tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "ID\tNAME\tSEVERITY\tSUMMARY\n")
				for _, r := range cat {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Severity, r.Summary)
				}
				return tw.Flush()
			case "json":
				out := make([]ruleEntry, 0, len(cat))
				for _, r := range cat {
					out = append(out, ruleEntry{ID: r.ID, Name: r.Name, Severity: r.Severity.String(), Summary: r.Summary, Doc: r.Doc})
				}
				return writeJSON(c.App.Writer, out)
			}
			return withCode(ExitInput, fmt.Errorf("rules: --format %q: want text or json", c.String("format")))
		},
	}
}

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "print a rule's documentation: why it matters and how to fix it",
		ArgsUsage: "RULE",
		Description: "RULE is an ID (LL004, ll4 and 4 are the same) or a name (duplicate-content).\n" +
			"The text is the rule's page in docs/rules/.",
		// Completion offers the rule IDs.
		BashComplete: func(c *cli.Context) {
			if c.NArg() > 0 {
				return
			}
			for _, r := range gate.Catalog() {
				fmt.Fprintln(c.App.Writer, r.ID)
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return withCode(ExitInput, errors.New("explain: expected one RULE (see `layerlint rules`)"))
			}
			r, ok := findRule(c.Args().First())
			if !ok {
				var ids []string
				for _, r := range gate.Catalog() {
					ids = append(ids, r.ID)
				}
				return withCode(ExitInput, fmt.Errorf("explain: no rule %q; the rules are %s", c.Args().First(), strings.Join(ids, ", ")))
			}
			_, err := io.WriteString(c.App.Writer, explainText(r))
			return err
		},
	}
}

// findRule looks a rule up by ID, loosely spelled, or by name.
func findRule(arg string) (rules.Rule, bool) {
	want := strings.ToUpper(strings.TrimSpace(arg))
	if n, ok := strings.CutPrefix(want, "LL"); ok || isDigits(want) {
		if !ok {
			n = want
		}
		if isDigits(n) && len(n) <= 3 {
			want = "LL" + strings.Repeat("0", 3-len(n)) + n
		}
	}
	for _, r := range gate.Catalog() {
		if strings.EqualFold(r.ID, want) || strings.EqualFold(r.Name, arg) {
			return r, true
		}
	}
	return rules.Rule{}, false
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// explainText is the rule's docs page without the generator's comment.
func explainText(r rules.Rule) string {
	page := string(rules.DocPage(r))
	if _, rest, ok := strings.Cut(page, "-->\n\n"); ok && strings.HasPrefix(page, generatedMark) {
		page = rest
	}
	return page
}
