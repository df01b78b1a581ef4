package dlqreplay

import (
	"fmt"

	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/report"
)

// Hint is the next step for a row whose completion the checks refused, by what they
// found: a signature made for another domain names the chain and escrow it was
// made for (the values are right, the domain is not: no replay can succeed); a
// signature that does not match derived values asks for the values the controller
// signed; one that does not match the values the API relayed points at the signer;
// a job that moved on, a used claim or a past deadline make the row one to resolve.
// "" when the verdict passed.
func Hint(id int64, v Values, verdict *completion.Verdict) string {
	if verdict == nil || verdict.Valid {
		return ""
	}
	if sf := verdict.SignedFor; sf != nil {
		return fmt.Sprintf("the controller signed this claim for %s (chain %s, escrow %s), not for chain %d and escrow %s: the values are right, the EIP-712 domain is not, and no replay can fix that — the robot must sign for chain %d and escrow %s (check the robot's domain and the API's DEFAULT_CHAIN_ID and JOB_ESCROW_ADDRESS); then resolve this row: vrwxctl dlq resolve %d --as SKIPPED --notes …",
			sf.Label, sf.ChainID, sf.Escrow, verdict.ChainID, verdict.Escrow, verdict.ChainID, verdict.Escrow, id)
	}
	if !verdict.SignatureValid() {
		switch {
		case v.Derived():
			return fmt.Sprintf("the values are derived from the payload; if the controller signed others, replay it alone with --quality and --work-units (vrwxctl dlq replay %d --quality Q --work-units W)", id)
		case v.Signed():
			return fmt.Sprintf("these are the values the controller signed (%s), so the signature is by someone other than the robot's controller %s (runbook: wrong controller signing): check the registry (vrwxctl robot get %s) and the robot's key",
				v.QualityFrom, verdict.Controller, verdict.Claim.RobotID)
		}
		return ""
	}
	for _, c := range verdict.Checks {
		if c.Level != report.Crit {
			continue
		}
		switch c.Name {
		case "job status", "deadline", "claim":
			return fmt.Sprintf("this completion cannot succeed any more (%s: %s): resolve the row instead of replaying it — vrwxctl dlq resolve %d --as SKIPPED --notes …", c.Name, c.Value, id)
		case "robot active":
			return fmt.Sprintf("the robot is deactivated: the API does not relay its completions; resolve the row once its owner decides — vrwxctl dlq resolve %d --as SKIPPED --notes …", id)
		}
	}
	return ""
}
