package ui

import (
	"fmt"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// RenderChecks prints checks as "icon name value detail" lines on stdout, with the
// fix under each line that has one; every text is escaped (Safe).
func (o *IO) RenderChecks(checks []report.Check) {
	s := o.Styles()
	nameW, valueW := 0, 0
	checks = safeChecks(checks)
	for _, c := range checks {
		nameW = max(nameW, len(c.Name))
		valueW = max(valueW, len(c.Value))
	}
	for _, c := range checks {
		icon := s.OK.Render("✓")
		switch c.Level {
		case report.Warn:
			icon = s.Warn.Render("!")
		case report.Crit:
			icon = s.Crit.Render("✗")
		case report.Info:
			icon = s.Faint.Render("·")
		}
		line := fmt.Sprintf("  %s %-*s  %-*s", icon, nameW, c.Name, valueW, c.Value)
		if c.Detail != "" {
			line += "  " + s.Faint.Render(c.Detail)
		}
		fmt.Fprintln(o.Out, line)
		if c.Fix != "" {
			fmt.Fprintf(o.Out, "    %s %s\n", s.Bold.Render("fix:"), c.Fix)
		}
	}
}

// safeChecks is checks with every text escaped (Safe): a check's value or detail
// may quote what a node, a log or the operator gave.
func safeChecks(checks []report.Check) []report.Check {
	out := make([]report.Check, len(checks))
	for i, c := range checks {
		c.Section, c.Name, c.Value, c.Detail, c.Fix = Safe(c.Section), Safe(c.Name), Safe(c.Value), Safe(c.Detail), Safe(c.Fix)
		out[i] = c
	}
	return out
}
