package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// docsCommand writes the generated reference pages. CI runs it with
// --check so that the pages can never go stale.
func docsCommand() *cli.Command {
	return &cli.Command{
		Name:      "docs",
		Usage:     "write the generated reference pages (docs/cli.md, docs/layerlint.1, docs/rules/)",
		ArgsUsage: "DIR",
		Hidden:    true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "check", Usage: "fail if a page differs from what would be written, write nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return withCode(ExitInput, errors.New("docs: expected DIR"))
			}
			app := newApp(nil, nil)
			man, err := manPage(app)
			if err != nil {
				return err
			}
			pages := map[string][]byte{"cli.md": cliReference(app), "layerlint.1": man}
			maps.Copy(pages, rulePages())
			if err := removeStaleRulePages(c, c.Args().First(), pages); err != nil {
				return err
			}
			return writePages(c, c.Args().First(), pages)
		},
	}
}

// writePages writes (or, with --check, compares) generated pages.
func writePages(c *cli.Context, dir string, pages map[string][]byte) error {
	var stale []string
	for name, data := range pages {
		p := filepath.Join(dir, name)
		if c.Bool("check") {
			old, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(old, data) {
				stale = append(stale, p)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		return withCode(ExitFailed, fmt.Errorf("generated docs are stale: %s (run: go run ./cmd/layerlint docs docs)", strings.Join(stale, ", ")))
	}
	return nil
}

// cliReference renders the command tree as Markdown.
func cliReference(app *cli.App) []byte {
	var b bytes.Buffer
	b.WriteString("# layerlint command reference\n\n")
	b.WriteString("Generated from the command tree by `go run ./cmd/layerlint docs docs`; CI fails when it is stale.\n\n")
	b.WriteString(app.Description + "\n\n")
	b.WriteString("Exit codes: see [exit-codes.md](exit-codes.md).\n")
	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		fmt.Fprintf(&b, "\n## layerlint %s\n\n%s.\n\n```\nlayerlint %s [options] %s\n```\n", cmd.Name, cmd.Usage, cmd.Name, cmd.ArgsUsage)
		if cmd.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", cmd.Description)
		}
		if len(cmd.Flags) > 0 {
			b.WriteString("\n| option | meaning |\n| --- | --- |\n")
			for _, f := range cmd.Flags {
				name, usage, _ := strings.Cut(f.String(), "\t")
				fmt.Fprintf(&b, "| `%s` | %s |\n", name, strings.ReplaceAll(usage, "|", "\\|"))
			}
		}
	}
	b.Write(envReference(bindEnv(app.Commands)))
	return b.Bytes()
}

// rulePages renders docs/rules/: one page per rule of the lint catalog
// (rules.DocPage) and an index.
func rulePages() map[string][]byte {
	pages := map[string][]byte{}
	var idx bytes.Buffer
	idx.WriteString("<!-- Generated from rules/ by layerlint; do not edit. -->\n\n# Rules\n\n")
	idx.WriteString("Every rule `layerlint lint` can report. IDs are stable: a retired rule keeps its ID unused.\n")
	idx.WriteString("LL001-LL099 are the rules of the image; LL100-LL199 are the gate's thresholds and checks\n")
	idx.WriteString("(on only when configured, see [../config.md](../config.md)); `dive/` rules apply a `.dive-ci`.\n\n")
	idx.WriteString("| ID | name | severity | summary |\n| --- | --- | --- | --- |\n")
	for _, r := range gate.Catalog() {
		file := gate.DocFile(r.ID)
		pages[filepath.Join("rules", file)] = rules.DocPage(r)
		fmt.Fprintf(&idx, "| [%s](%s) | %s | %s | %s |\n", r.ID, file, r.Name, r.Severity, strings.ReplaceAll(r.Summary, "|", "\\|"))
	}
	pages[filepath.Join("rules", "README.md")] = idx.Bytes()
	return pages
}

// generatedMark starts every generated page of docs/rules.
const generatedMark = "<!-- Generated from rules/"

// removeStaleRulePages finds generated pages in DIR/rules that no rule
// makes any more: --check reports them, a write removes them.
func removeStaleRulePages(c *cli.Context, dir string, pages map[string][]byte) error {
	ents, err := os.ReadDir(filepath.Join(dir, "rules"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var stale []string
	for _, e := range ents {
		name := filepath.Join("rules", e.Name())
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") || pages[name] != nil {
			continue
		}
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(data, []byte(generatedMark)) {
			continue // written by hand: not ours to judge
		}
		if c.Bool("check") {
			stale = append(stale, p)
			continue
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		return withCode(ExitFailed, fmt.Errorf("generated docs are stale: %s has no rule any more (run: go run ./cmd/layerlint docs docs)", strings.Join(stale, ", ")))
	}
	return nil
}
