package completion

import (
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Render prints the verdict as text with the fix under every failed check.
func (v *Verdict) Render(io *ui.IO) {
	s := io.Styles()
	verdict := s.OK.Render("VALID")
	if !v.Valid {
		verdict = s.Crit.Render("INVALID")
	}
	fmt.Fprintf(io.Out, "%s job %s  %s  %s\n", s.Bold.Render("COMPLETION SIGNATURE"), v.Claim.JobID, verdict,
		s.Faint.Render(fmt.Sprintf("escrow %s · chain %d · registry %s", v.Escrow, v.ChainID, v.Registry)))
	io.RenderChecks(v.Checks)
	if v.Valid {
		fmt.Fprintln(io.Out, s.OK.Render("OK")+": the escrow would accept this completion and the API would relay it")
		return
	}
	fmt.Fprintf(io.Out, "%s: %s — see the fixes above\n", s.Crit.Render("INVALID"), strings.Join(v.failed(false), ", "))
}

// failed names the failed checks; withValue adds each one's value.
func (v *Verdict) failed(withValue bool) []string {
	var out []string
	for _, c := range v.Checks {
		if c.Level != report.Crit {
			continue
		}
		if withValue {
			out = append(out, c.Name+" ("+c.Value+")")
		} else {
			out = append(out, c.Name)
		}
	}
	return out
}

// fix is the first failed check's fix.
func (v *Verdict) fix() string {
	for _, c := range v.Checks {
		if c.Level == report.Crit && c.Fix != "" {
			return c.Fix
		}
	}
	return ""
}
