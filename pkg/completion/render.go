package completion

import (
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// signatureChecks are the checks that judge the signature itself; the others judge
// the robot and the job, which can fail with a perfectly good signature.
var signatureChecks = map[string]bool{"signature": true, "signer": true}

// Render prints the verdict as text with the fix under every failed check. The
// header says exactly what failed: a job that is no longer FUNDED does not make a
// good signature "invalid".
func (v *Verdict) Render(io *ui.IO) {
	s := io.Styles()
	fmt.Fprintf(io.Out, "%s job %s  %s  %s\n", s.Bold.Render("COMPLETION"), v.Claim.JobID, v.headline(s),
		s.Faint.Render(fmt.Sprintf("escrow %s · chain %d · registry %s", v.Escrow, v.ChainID, v.Registry)))
	io.RenderChecks(v.Checks)
	if v.Valid {
		fmt.Fprintln(io.Out, s.OK.Render("OK")+": the escrow would accept this completion and the API would relay it")
		return
	}
	sig, other := v.failedBy(true)
	switch {
	case len(sig) > 0:
		fmt.Fprintf(io.Out, "%s: %s — see the fixes above\n", s.Crit.Render("SIGNATURE INVALID"), strings.Join(append(sig, other...), ", "))
	default:
		fmt.Fprintf(io.Out, "%s: %s — the signature itself is valid; see the fixes above\n", s.Crit.Render("WOULD FAIL"), strings.Join(other, ", "))
	}
}

// headline is the verdict in the header: VALID, or which part failed.
func (v *Verdict) headline(s ui.Styles) string {
	if v.Valid {
		return s.OK.Render("VALID")
	}
	sig, other := v.failedBy(true)
	var parts []string
	if len(sig) > 0 {
		parts = append(parts, s.Crit.Render("SIGNATURE INVALID: "+strings.Join(sig, ", ")))
	} else {
		parts = append(parts, s.OK.Render("signature valid"))
	}
	if len(other) > 0 {
		parts = append(parts, s.Crit.Render("WOULD FAIL: "+strings.Join(other, ", ")))
	}
	return strings.Join(parts, " · ")
}

// failedBy names the failed checks, those of the signature apart from the others;
// withValue adds each one's value.
func (v *Verdict) failedBy(withValue bool) (sig, other []string) {
	for _, c := range v.Checks {
		if c.Level != report.Crit {
			continue
		}
		name := c.Name
		if withValue {
			name += " (" + c.Value + ")"
		}
		if signatureChecks[c.Name] {
			sig = append(sig, name)
		} else {
			other = append(other, name)
		}
	}
	return sig, other
}

// failed names the failed checks; withValue adds each one's value.
func (v *Verdict) failed(withValue bool) []string {
	sig, other := v.failedBy(withValue)
	return append(sig, other...)
}

// SignatureValid reports whether the signature itself passed (well-formed, by the
// controller), whatever the job's and the robot's state.
func (v *Verdict) SignatureValid() bool {
	sig, _ := v.failedBy(false)
	return len(sig) == 0
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
