package rules

import (
	"bytes"
	"fmt"
)

// DocPage renders the Markdown page of a rule, docs/rules/ID.md, from its
// metadata, so that the page cannot drift from the code.
func DocPage(r Rule) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Generated from rules/ by layerlint; do not edit. -->\n\n")
	fmt.Fprintf(&b, "# %s: %s\n\n", r.ID, r.Name)
	fmt.Fprintf(&b, "Severity: **%s**\n\n", r.Severity)
	fmt.Fprintf(&b, "%s\n\n", r.Summary)
	fmt.Fprintf(&b, "## Why and how to fix\n\n%s\n", r.Doc)
	if len(r.Options) > 0 {
		fmt.Fprintf(&b, "\n## Options\n\nSet in `.layerlint.yaml` under `rules: {%s: {options: {...}}}`.\n\n", r.ID)
		b.WriteString("| option | type | default | what it changes |\n| --- | --- | --- | --- |\n")
		for _, o := range r.Options {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", o.Name, o.Type, o.Default, o.Doc)
		}
	}
	return b.Bytes()
}
