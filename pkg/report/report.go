// Package report is the shape every judged reading takes — a check with a level, a
// value, a detail and the operator's fix — and how a list of them becomes an exit
// code. It sits below pkg/ui, which renders checks, and below the workflows that
// produce them (pkg/doctor, pkg/completion), so both can use it without importing
// each other.
package report

import "github.com/vrwx/vrwxctl/pkg/errs"

// Level is a check's outcome.
type Level string

const (
	OK   Level = "ok"
	Warn Level = "warn"
	Crit Level = "crit"
	// Info is a reading shown without a verdict.
	Info Level = "info"
)

// Check is one line of a report.
type Check struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Level   Level  `json:"level"`
	Value   string `json:"value"`
	Detail  string `json:"detail,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// Worst returns the most severe level among checks.
func Worst(checks []Check) Level {
	worst := OK
	for _, c := range checks {
		switch {
		case c.Level == Crit:
			return Crit
		case c.Level == Warn:
			worst = Warn
		}
	}
	return worst
}

// ExitKind maps a report's worst level to the shared exit codes: critical 1,
// warnings only 5, otherwise 0.
func ExitKind(l Level) errs.Kind {
	switch l {
	case Crit:
		return errs.Failed
	case Warn:
		return errs.Warnings
	}
	return errs.OK
}

// Changed returns what tells whether a check of cur moved since prev, for a watch
// that marks what changed since the last read: a check that is new, whose level
// changed, or — while it is a warning or critical — whose value changed (a problem
// getting better or worse). An ok line's value moving (the head, an age, a latency)
// is the system being alive, not news. With no prev nothing changed.
func Changed(prev, cur []Check) func(Check) bool {
	if prev == nil {
		return func(Check) bool { return false }
	}
	before := make(map[[2]string]Check, len(prev))
	for _, c := range prev {
		before[[2]string{c.Section, c.Name}] = c
	}
	return func(c Check) bool {
		p, ok := before[[2]string{c.Section, c.Name}]
		switch {
		case !ok || p.Level != c.Level:
			return true
		case c.Level == Warn || c.Level == Crit:
			return p.Value != c.Value
		}
		return false
	}
}
