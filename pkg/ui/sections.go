package ui

import (
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// RenderSections prints checks grouped under their section's name, in the order
// the sections first appear, with one column width for all of them.
func (o *IO) RenderSections(checks []report.Check) {
	s := o.Styles()
	var order []string
	by := map[string][]report.Check{}
	for _, c := range checks {
		if _, ok := by[c.Section]; !ok {
			order = append(order, c.Section)
		}
		by[c.Section] = append(by[c.Section], c)
	}
	for _, sec := range order {
		fmt.Fprintln(o.Out, s.Bold.Render(Safe(strings.ToUpper(sec))))
		o.RenderChecks(by[sec])
	}
}
