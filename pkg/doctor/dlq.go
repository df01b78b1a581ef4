package doctor

import (
	"fmt"
	"maps"
	"slices"

	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// DLQChecks judges the DLQ's depth against the runbook's "DLQ Depth" alert (warning
// above warn, critical above crit) and lists what the depth is made of: unresolved
// events by type, retries pending and exceeded, and the oldest unresolved event.
func DLQChecks(sum dlq.Summary, warn, crit int64) []Check {
	depth := Check{Section: "dlq", Name: "depth", Level: OK, Value: fmt.Sprintf("%d unresolved", sum.Depth),
		Detail: fmt.Sprintf("warning > %d, critical > %d", warn, crit)}
	switch dlq.DepthLevel(sum.Depth, warn, crit) {
	case dlq.LevelCritical:
		depth.Level = Crit
	case dlq.LevelWarning:
		depth.Level = Warn
	}
	if depth.Level != OK {
		depth.Fix = "vrwxctl dlq list --unresolved; replay TX_FAIL rows with vrwxctl dlq replay ID --signer REF, resolve the rest with vrwxctl dlq resolve ID --as MANUAL|SKIPPED --notes …"
	}
	checks := []Check{depth}
	for _, t := range dlq.Types {
		checks = append(checks, Check{Section: "dlq", Name: t, Level: Info, Value: fmt.Sprint(sum.UnresolvedByType[t]), Detail: "unresolved"})
	}
	for _, t := range slices.Sorted(maps.Keys(sum.UnresolvedByType)) {
		if _, err := dlq.NormalizeType(t); err != nil {
			checks = append(checks, Check{Section: "dlq", Name: t, Level: Info, Value: fmt.Sprint(sum.UnresolvedByType[t]), Detail: "unresolved, type unknown to vrwxctl"})
		}
	}
	checks = append(checks,
		Check{Section: "dlq", Name: "pending retry", Level: Info, Value: fmt.Sprint(sum.PendingRetry),
			Detail: fmt.Sprintf("due now, as the API counts pendingRetry; %d more scheduled later", sum.ScheduledRetry)},
		Check{Section: "dlq", Name: "exceeded retries", Level: Info, Value: fmt.Sprint(sum.ExceededRetries),
			Detail: fmt.Sprintf("retry_count >= %d: never retried automatically again", dlq.MaxRetries)},
	)
	oldest := Check{Section: "dlq", Name: "oldest unresolved", Level: Info, Value: "-"}
	if sum.Depth > 0 {
		oldest.Value = ui.Duration(sum.OldestUnresolvedAge)
		oldest.Detail = fmt.Sprintf("event %d", sum.OldestUnresolvedID)
	}
	return append(checks, oldest)
}
