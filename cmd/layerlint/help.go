package main

import (
	"flag"
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli v2 keeps the help and version flags and the "help" command in
// package variables and writes to them on every App.Run: BoolFlag.Apply
// records its default in the flag, and a command's setup appends the
// shared help command and sets its name and separator. Two apps running at
// once (the tests run them in parallel) race there. v2 has no per-app
// field for either, so the flags are replaced, once, by ones whose Apply
// writes nothing, and every command of an app gets its own help command
// (newApp), so that the shared one is never touched. What the user sees
// (names, usage, help pages, completions) is the same.
func init() {
	cli.HelpFlag = statelessBool{cli.HelpFlag.(*cli.BoolFlag)}
	cli.VersionFlag = statelessBool{cli.VersionFlag.(*cli.BoolFlag)}
}

// statelessBool is a bool flag shared by every app: it is applied from a
// copy, so the shared flag is only ever read.
type statelessBool struct{ *cli.BoolFlag }

// Apply defines the flag on set through a copy of the shared flag.
func (f statelessBool) Apply(set *flag.FlagSet) error {
	c := *f.BoolFlag
	return c.Apply(set)
}

// GetDefaultText is empty: the help and version flags show no default
// (urfave/cli hides it for a *cli.BoolFlag with DisableDefaultText, which
// it recognizes by type).
func (f statelessBool) GetDefaultText() string { return "" }

// helpCommand is a command's own "help" subcommand, as urfave/cli would
// add it: "layerlint CMD help" shows CMD's help, "layerlint CMD help X"
// says there is no help topic X.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:            "help",
		Aliases:         []string{"h"},
		Usage:           "Shows a list of commands or help for one command",
		ArgsUsage:       "[command]",
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			parent := c.Lineage()[1]
			if c.Args().Present() {
				return cli.ShowCommandHelp(parent, c.Args().First())
			}
			cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, parent.Command)
			return nil
		},
	}
}

// withHelpCommand gives the command that args run, when it has no
// subcommands, its own help command, as urfave/cli's setup would give it
// the shared one. Only that command gets one, as with urfave/cli, so that
// the other commands' subcommands (which the man page and the fish
// completion list) stay as they are.
func withHelpCommand(app *cli.App, args []string) {
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue // a flag of the app (its flags take no value)
		}
		if c := app.Command(a); c != nil && len(c.Subcommands) == 0 {
			c.Subcommands = []*cli.Command{helpCommand()}
		}
		return
	}
}
