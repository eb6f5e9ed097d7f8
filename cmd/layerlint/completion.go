package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"

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

// manPage renders the command tree as a section 1 manual page.
func manPage(app *cli.App) ([]byte, error) {
	s, err := app.ToManWithSection(1)
	if err != nil {
		return nil, fmt.Errorf("generating the man page: %w", err)
	}
	return []byte(s), nil
}
