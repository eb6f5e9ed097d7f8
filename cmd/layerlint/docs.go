package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// docsCommand writes the generated reference pages. CI runs it with
// --check so that the pages can never go stale.
func docsCommand() *cli.Command {
	return &cli.Command{
		Name:      "docs",
		Usage:     "write the generated reference pages (docs/cli.md)",
		ArgsUsage: "DIR",
		Hidden:    true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "check", Usage: "fail if a page differs from what would be written, write nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return withCode(ExitInput, errors.New("docs: expected DIR"))
			}
			pages := map[string][]byte{"cli.md": cliReference(newApp(nil, nil))}
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
	return b.Bytes()
}
