package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask the binary for candidates
// (--generate-bash-completion, answered from the command tree), so they
// never go stale; fish's is generated from the command tree by urfave/cli.
var (
	//go:embed completion/layerlint.bash
	bashCompletion string
	//go:embed completion/layerlint.zsh
	zshCompletion string
)

var completionShells = []string{"bash", "zsh", "fish"}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "SHELL",
		Description: "Load it in the running shell or install it:\n\n" +
			"    source <(layerlint completion bash)         # or: > /etc/bash_completion.d/layerlint\n" +
			"    layerlint completion zsh > \"${fpath[1]}/_layerlint\"\n" +
			"    layerlint completion fish > ~/.config/fish/completions/layerlint.fish",
		BashComplete: func(c *cli.Context) {
			for _, s := range completionShells {
				fmt.Fprintln(c.App.Writer, s)
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return withCode(ExitInput, errors.New("completion: expected one SHELL: bash, zsh or fish"))
			}
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("completion: generating the fish script: %w", err)
				}
				script = s
			default:
				return withCode(ExitInput, fmt.Errorf("completion: unknown shell %q: want bash, zsh or fish", c.Args().First()))
			}
			_, err := io.WriteString(c.App.Writer, script)
			return err
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the manual page (troff), generated from the command tree",
		Description: "The same page is committed as docs/layerlint.1. Install it with\n\n" +
			"    layerlint man > /usr/local/share/man/man1/layerlint.1",
		Action: func(c *cli.Context) error {
			page, err := manPage(c.App)
			if err != nil {
				return err
			}
			_, err = c.App.Writer.Write(page)
			return err
		},
	}
}

// manPage renders the command tree as a section 1 manual page: urfave/cli's
// Markdown of the commands and their options, then the environment
// variables and the exit codes, turned into troff by go-md2man (what
// urfave/cli's own ToMan uses).
func manPage(app *cli.App) ([]byte, error) {
	md, err := app.ToMarkdown()
	if err != nil {
		return nil, fmt.Errorf("generating the man page: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("% " + app.Name + " 1\n\n")
	b.WriteString(md)
	b.WriteString("\n# ENVIRONMENT\n\n")
	b.WriteString("Every option can also be set from a variable; the option on the command line wins, then the\n")
	b.WriteString("variable, then the configuration file, then the default.\n\n")
	for _, e := range bindEnv(app.Commands) {
		fmt.Fprintf(&b, "**%s**\n: --%s (%s)\n\n", e.Var, e.Flag, strings.Join(e.Commands, ", "))
	}
	b.WriteString("**NO_COLOR**\n: when set and not empty, no colour on a terminal.\n\n")
	b.WriteString("# EXIT STATUS\n\n")
	b.WriteString("**0**\n: success; for lint, no finding at the failure level.\n\n")
	b.WriteString("**1**\n: the check ran and failed (lint findings at the failure level, a verification difference).\n\n")
	b.WriteString("**2**\n: a usage error, an invalid configuration, or an image that cannot be read.\n\n")
	b.WriteString("**3**\n: an integrity failure: a blob's digest or size, or a layer's diff_id, does not match.\n\n")
	b.WriteString("**4**\n: the machine cannot do what was asked (no root, no overlayfs, a registry or engine out of reach).\n\n")
	b.WriteString("# SEE ALSO\n\n")
	b.WriteString("**layerlint explain** RULE, and docs/ in the source: cli.md, rules/, exit-codes.md, ci/.\n")
	return md2man.Render(b.Bytes()), nil
}
