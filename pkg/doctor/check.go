// Package doctor judges what vrwxctl reads — the relayer, the deployment's contracts,
// the DLQ, a robot's row in the API database — against the runbook's thresholds and
// expectations, each check with the fix the runbook gives. The Judge functions read
// nothing; the Read functions gather their readings in one batched round trip.
package doctor

import (
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
)

// Check, Level and their helpers live in pkg/report, below pkg/ui which renders
// them; doctor names them too because every check it makes is one.
type (
	// Check is one line of a report.
	Check = report.Check
	// Level is a check's outcome.
	Level = report.Level
)

const (
	OK   = report.OK
	Warn = report.Warn
	Crit = report.Crit
	Info = report.Info
)

// Worst returns the most severe level among checks.
func Worst(checks []Check) Level { return report.Worst(checks) }

// ExitKind maps a report's worst level to the shared exit codes.
func ExitKind(l Level) errs.Kind { return report.ExitKind(l) }
