package ui

import (
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// RenderSections prints checks grouped under their section's name, in the order
// the sections first appear, with one column width for all of them.
func (o *IO) RenderSections(checks []report.Check) { o.RenderSectionsChanged(checks, nil) }

// RenderSectionsChanged is RenderSections with the checks changed (nil: none)
// marked in the margin — a watch's highlight of what moved since the last read.
func (o *IO) RenderSectionsChanged(checks []report.Check, changed func(report.Check) bool) {
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
		o.renderChecks(by[sec], changed)
	}
}
