package ui

import (
	"fmt"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// RenderChecks prints checks as "icon name value detail" lines on stdout, with the
// fix under each line that has one.
func (o *IO) RenderChecks(checks []report.Check) {
	s := o.Styles()
	nameW, valueW := 0, 0
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
