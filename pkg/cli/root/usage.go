package root

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// usageFunc is cobra's usage text (the same sections, in the same order) with its
// descriptions wrapped to the terminal's width: a flag's or a command's
// description that does not fit continues under itself, not at the terminal's
// first column inside a word. width is 0 outside a terminal, where the text is
// cobra's own, line for line (docs/cli and scripts read it).
func usageFunc(width func() int) func(*cobra.Command) error {
	return func(c *cobra.Command) error {
		writeUsage(c.OutOrStderr(), c, width())
		return nil
	}
}

func writeUsage(w io.Writer, c *cobra.Command, width int) {
	fmt.Fprint(w, "Usage:")
	if c.Runnable() {
		fmt.Fprintf(w, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n  %s [command]", c.CommandPath())
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\n\nAliases:\n  %s", c.NameAndAliases())
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		listed := func(sub *cobra.Command) bool { return sub.IsAvailableCommand() || sub.Name() == "help" }
		if len(c.Groups()) == 0 {
			fmt.Fprint(w, "\n\nAvailable Commands:")
			writeCommands(w, c.Commands(), listed, width)
		} else {
			for _, g := range c.Groups() {
				fmt.Fprintf(w, "\n\n%s", g.Title)
				writeCommands(w, c.Commands(), func(sub *cobra.Command) bool { return sub.GroupID == g.ID && listed(sub) }, width)
			}
			if !c.AllChildCommandsHaveGroup() {
				fmt.Fprint(w, "\n\nAdditional Commands:")
				writeCommands(w, c.Commands(), func(sub *cobra.Command) bool { return sub.GroupID == "" && listed(sub) }, width)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\n\nFlags:\n%s", flagUsages(c.LocalFlags(), width))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\n\nGlobal Flags:\n%s", flagUsages(c.InheritedFlags(), width))
	}
	if c.HasHelpSubCommands() {
		fmt.Fprint(w, "\n\nAdditional help topics:")
		for _, sub := range c.Commands() {
			if sub.IsAdditionalHelpTopicCommand() {
				fmt.Fprintf(w, "\n  %-*s %s", sub.CommandPathPadding(), sub.CommandPath(), sub.Short)
			}
		}
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	fmt.Fprintln(w)
}

// writeCommands lists the commands keep selects, a name column and the short
// description, which wraps under itself when width is set.
func writeCommands(w io.Writer, cmds []*cobra.Command, keep func(*cobra.Command) bool, width int) {
	for _, sub := range cmds {
		if !keep(sub) {
			continue
		}
		pad := sub.NamePadding()
		lines := ui.Wrap(sub.Short, width-pad-3)
		fmt.Fprintf(w, "\n  %-*s %s", pad, sub.Name(), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "\n  %-*s %s", pad, "", l)
		}
	}
}

// flagUsages is pflag's flag list, wrapped to width when it is set.
func flagUsages(fs *pflag.FlagSet, width int) string {
	if width > 0 {
		return strings.TrimRight(fs.FlagUsagesWrapped(width), " \t\n")
	}
	return strings.TrimRight(fs.FlagUsages(), " \t\n")
}

// helpFunc is cobra's help (the long description, then the usage) with the
// description reflowed to the terminal's width; outside a terminal it is cobra's.
func helpFunc(width func() int) func(*cobra.Command, []string) {
	return func(c *cobra.Command, _ []string) {
		w := c.OutOrStdout()
		text := c.Long
		if text == "" {
			text = c.Short
		}
		if text = strings.TrimRightFunc(text, unicode.IsSpace); text != "" {
			fmt.Fprintln(w, reflow(text, width()))
			fmt.Fprintln(w)
		}
		if c.Runnable() || c.HasSubCommands() {
			fmt.Fprint(w, c.UsageString())
		}
	}
}

// reflow fits prose written with its own line breaks to width cells. The lines of
// a paragraph are joined and wrapped again; so are a "- " list item's, under its
// hanging indent, and an indented item's ("  5 verify    wait until …" and the
// lines indented under it), under its description's column. Commands to copy —
// indented lines starting with vrwxctl, $ or #, or ending in a backslash — are
// left whole. width <= 0 returns text as it is.
func reflow(text string, width int) string {
	if width <= 0 {
		return text
	}
	var out []string
	var words []string // the paragraph or item being read
	first, hang := "", 0
	indented := false // the item being read is an indented one
	flush := func() {
		if len(words) == 0 {
			return
		}
		for i, l := range ui.Wrap(strings.Join(words, " "), width-hang) {
			if i == 0 {
				l = first + l
			} else {
				l = strings.Repeat(" ", hang) + l
			}
			out = append(out, l)
		}
		words, first, hang, indented = nil, "", 0, false
	}
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		indent := len(l) - len(trimmed)
		switch {
		case trimmed == "" || strings.HasPrefix(l, "\t") || (indent > 0 && isCommandLine(trimmed)):
			flush()
			out = append(out, l)
		case indent > 0 && first != "" && indent >= hang:
			words = append(words, trimmed) // a line under an indented item's description
		case indent > 0:
			flush()
			// The description starts after the first run of two spaces past the label.
			hang = indent
			if i := strings.Index(trimmed, "  "); i > 0 {
				rest := strings.TrimLeft(trimmed[i:], " ")
				hang = len(l) - len(rest)
				trimmed = rest
			}
			first, words, indented = l[:hang], []string{trimmed}, true
		case strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* "):
			flush()
			first, words, hang = l[:2], []string{l[2:]}, 2
		default:
			if indented {
				flush() // unindented prose after an indented item
			}
			words = append(words, l)
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func isCommandLine(s string) bool {
	return strings.HasPrefix(s, "vrwxctl ") || strings.HasPrefix(s, "$ ") || strings.HasPrefix(s, "#") || strings.HasSuffix(s, "\\")
}
