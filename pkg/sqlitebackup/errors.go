package sqlitebackup

import (
	"errors"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Input names one input of Backup, Verify or Restore, so a caller can point at its
// own flag or field when an InputError says that input is wrong.
type Input string

const (
	InputDatabase    Input = "database"        // the live database's path
	InputDestination Input = "destination"     // where Backup publishes
	InputKeep        Input = "retention count" // BackupOptions.Keep
	InputBackup      Input = "backup"          // what Verify or Restore reads
)

// InputError is bad input (it always travels inside an errs.Usage error): which
// input, the value given, and what is wrong with it, in this package's terms.
type InputError struct {
	Input Input
	Value string
	// Reason follows the value in the message: it starts with ": " ("…: expected
	// at least 1") or with a verb ("is the database itself: …").
	Reason string
}

func (e *InputError) Error() string { return e.Named(string(e.Input)) }

// Named is the message with the input called name, as a caller knows it (a flag).
func (e *InputError) Named(name string) string {
	sep := " "
	if len(e.Reason) > 0 && e.Reason[0] == ':' {
		sep = ""
	}
	// The value, and what the reason quotes of it, are what the operator typed.
	return name + " " + redact.Mask(e.Value) + sep + redact.MaskText(e.Reason)
}

func badInput(in Input, value, reason string) *errs.Error {
	return &errs.Error{Kind: errs.Usage, Err: &InputError{Input: in, Value: value, Reason: reason}}
}

// Conditions a caller may want to explain in its own terms. The errors this package
// returns wrap them (errors.Is) and carry a fix that needs no knowledge of a CLI.
var (
	// ErrInUse: another process has the database open, so Restore refused (or this
	// platform cannot tell, which is refused the same way). RestoreOptions.Force
	// overrides it.
	ErrInUse = apidb.ErrInUse
	// ErrNoSpace: a file system filled up while a copy was written.
	ErrNoSpace = errors.New("no space left on device")
	// ErrNotAPIDatabase: the source is an SQLite file but not the API's database.
	ErrNotAPIDatabase = errors.New("not the API's database")
	// ErrDoesNotVerify: a backup failed verification, so it was not restored.
	ErrDoesNotVerify = errors.New("the backup does not verify")
)
