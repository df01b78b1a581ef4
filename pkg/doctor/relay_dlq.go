package doctor

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// The API estimates gas before it relays, so a completion that would revert fails
// at estimateGas and never reaches the chain: its DLQ row's reason is the only
// record (spec/VRWX.md). doctor relay therefore reads the recent TX_FAIL rows too,
// groups them by the cause their reasons decode to, and weighs them next to what the
// chain shows.

// DefaultDLQSince is how far back doctor relay reads the DLQ's TX_FAIL rows.
const DefaultDLQSince = time.Hour

// dlqRowLimit bounds the rows one investigation decodes.
const dlqRowLimit = 5000

// readFailures reads the recent TX_FAIL rows in the background; the channel closes
// when rep.DLQ or rep.DLQErr is set.
func (d *Relay) readFailures(ctx context.Context, path string, rep *RelayReport) <-chan struct{} {
	done := make(chan struct{})
	since := d.DLQSince
	if since <= 0 {
		since = DefaultDLQSince
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	rep.DLQPath = path
	go func() {
		defer close(done)
		rep.DLQErr = dlq.ReadOnly(ctx, path, func(db *sql.DB) error {
			f, err := dlq.RecentFailures(ctx, db, now().Add(-since), dlqRowLimit)
			rep.DLQ = f
			return err
		})
		if rep.DLQErr != nil {
			rep.DLQ = nil
		}
	}()
	return done
}

// dlqCheck summarises the recent TX_FAIL rows by cause.
func dlqCheck(rep *RelayReport, now time.Time) (Check, bool) {
	if rep.DLQPath == "" {
		return Check{}, false
	}
	c := Check{Section: "dlq", Name: "recent failures", Level: OK}
	switch {
	case rep.DLQErr != nil:
		c.Level, c.Value, c.Detail = Warn, "unreadable", rep.DLQErr.Error()
	case rep.DLQ.Rows == 0:
		c.Value = "none"
		c.Detail = fmt.Sprintf("no TX_FAIL row since %s (%s)", ui.FormatUTC(rep.DLQ.Since), rep.DLQPath)
	default:
		f := rep.DLQ
		c.Level = Warn
		c.Value = fmt.Sprintf("%d TX_FAIL row(s) since %s", f.Rows, ui.FormatUTC(f.Since))
		if f.Truncated {
			c.Value = fmt.Sprintf("the newest %d TX_FAIL rows", f.Rows)
		}
		var parts []string
		for _, g := range f.Groups {
			parts = append(parts, fmt.Sprintf("%s %d (newest %s ago, event %d)", g.Cause, g.Rows, ui.Duration(now.Sub(g.Newest)), g.NewestID))
		}
		c.Detail = strings.Join(parts, ", ")
		c.Fix = "vrwxctl dlq list --type TX_FAIL --unresolved shows each row's decoded error; vrwxctl dlq show ID the whole reason"
	}
	return c, true
}

var (
	sigErrorNames      = []string{"InvalidSignature", "RobotNotFound", "ECDSAInvalidSignature", "ECDSAInvalidSignatureLength", "ECDSAInvalidSignatureS"}
	rejectedErrorNames = []string{"InvalidStatus", "DeadlinePassed", "ClaimAlreadyUsed", "JobNotFound"}
)

// dlqHit is what one group of rows added to a cause.
type dlqHit struct {
	cause  string
	rows   int
	newest time.Time
}

// dlqEvidence weighs each group of recent TX_FAIL rows as evidence for the
// runbook's cause it points to.
func dlqEvidence(rep *RelayReport, now time.Time, add func(name string, level Level, score int, evidence, fix string)) []dlqHit {
	if rep.DLQ == nil {
		return nil
	}
	var hits []dlqHit
	for _, g := range rep.DLQ.Groups {
		ex := g.Example
		where := "failed"
		if ex != nil && ex.Action != "" {
			where = "failed at " + ex.Action
			if ex.Action == "estimateGas" {
				where += " (the relay never reached the chain)"
			}
		}
		jobs := ""
		if len(g.Jobs) > 0 {
			jobs = ", jobs " + strings.Join(g.Jobs, ", ")
		}
		evidence := fmt.Sprintf("DLQ: %d TX_FAIL row(s) (%d unresolved) %s with %s, newest %s ago (event %d%s)",
			g.Rows, g.Unresolved, where, g.Cause, ui.Duration(now.Sub(g.Newest)), g.NewestID, jobs)
		weight := min(g.Rows, 40)
		name, level, score, fix := causeRejected, Warn, 10+weight, fmt.Sprintf("vrwxctl dlq show %d decodes the reason", g.NewestID)
		switch {
		case slices.Contains(sigErrorNames, g.Cause):
			name, score = causeSignatures, 60+weight
			fix = fmt.Sprintf("runbook: check IdentityRegistry state — vrwxctl dlq show %d shows the claim the API relayed", g.NewestID)
			if c := ex.Completion(); c != nil && g.ExampleRobot != "" {
				fix = fmt.Sprintf("runbook: check IdentityRegistry state — vrwxctl doctor signature %s --job %s --completion-hash %s --quality %d --work-units %d --sig %s (event %d's claim as the API relayed it: a signature made for another chain or escrow is named)",
					g.ExampleRobot, c.JobID, c.CompletionHash, c.QualityScore, c.WorkUnits, c.Signature, g.NewestID)
			}
		case slices.Contains(rejectedErrorNames, g.Cause):
			name, score = causeRejected, 30+weight
			fix = "these completions cannot succeed as sent (the job moved on): resolve their DLQ rows (vrwxctl dlq resolve ID --as SKIPPED --notes …) instead of retrying"
		case g.Cause == "INSUFFICIENT_FUNDS":
			name, score = causeOutOfGas, 50+weight
			from := "the relayer"
			if ex != nil && ex.Signed != nil && ex.Signed.From != "" {
				from = ex.Signed.From
			}
			fix = fmt.Sprintf("fund the sender: vrwxctl wallet fund --to %s --amount 0.5ether --signer $TREASURY_SIGNER, then replay the rows (vrwxctl dlq replay --all --signer REF); their reasons hold signed transactions anyone with the file can broadcast while the nonce is unused (vrwxctl dlq show %d)", from, g.NewestID)
		case g.Cause == "EnforcedPause":
			name, score, fix = causePaused, 60+weight, "runbook: contract paused — contact the admin to unpause"
		case g.Cause == "REPLACEMENT_UNDERPRICED":
			name, score, fix = causeGasPrices, 30+weight, "runbook: increase MAX_FEE_PER_GAS_GWEI"
		case g.Cause == "NONCE_EXPIRED":
			name, score = causeNonceGap, 30+weight
			fix = "another sender used the relayer's nonces (a second API replica, or a manual send with the relayer key): vrwxctl wallet nonce, and check that one API relays"
		case g.Cause == "TIMEOUT" || g.Cause == "NETWORK_ERROR" || g.Cause == "SERVER_ERROR":
			name, score, fix = causeRPC, 40+weight, "runbook: switch to the backup RPC (RPC_URL)"
		}
		add(name, level, score, evidence, fix)
		hits = append(hits, dlqHit{cause: name, rows: g.Rows, newest: g.Newest})
	}
	return hits
}

// dlqNote says what the DLQ adds to a cause ruled out: that it was read and shows
// nothing of it, or why it was not read.
func dlqNote(rep *RelayReport) string {
	switch {
	case rep.DLQPath == "":
		return "; the DLQ was not read (no database: --db or DATABASE_PATH)"
	case rep.DLQErr != nil:
		return "; the DLQ could not be read: " + rep.DLQErr.Error()
	}
	return fmt.Sprintf("; none of the DLQ's %d TX_FAIL row(s) since %s shows it", rep.DLQ.Rows, ui.FormatUTC(rep.DLQ.Since))
}
