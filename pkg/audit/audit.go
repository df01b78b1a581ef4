// Package audit appends one JSON line per transaction vrwxctl signs or sends to an
// append-only log (mode 0600 in the XDG state directory): who, where, what, the hash
// and the outcome, and the reason the operator gave. It never holds key material:
// entries carry addresses and hashes only.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"
)

// Entry is one line of the audit log.
type Entry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Profile string    `json:"profile"`
	ChainID uint64    `json:"chainId"`
	Command string    `json:"command"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Value   string    `json:"valueWei,omitempty"`
	Nonce   *uint64   `json:"nonce,omitempty"`
	Method  string    `json:"method,omitempty"`
	TxHash  string    `json:"txHash,omitempty"`
	// Outcome: dry-run, sent, mined, reverted, timeout, failed, refused.
	Outcome string `json:"outcome"`
	Block   uint64 `json:"block,omitempty"`
	FeeWei  string `json:"feeWei,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Log appends entries to a file.
type Log struct {
	Path string
	// User is recorded in entries that name no user (see CurrentUser).
	User string
	mu   sync.Mutex
}

// Open returns the log at path; the file is created (0600) on first append.
func Open(path string) *Log { return &Log{Path: path} }

// DefaultPath is <state dir>/audit.log.
func DefaultPath(stateDir string) string { return filepath.Join(stateDir, "audit.log") }

// Append writes e as one line, with O_APPEND so concurrent vrwxctl processes do not
// interleave within a line. A "sent" line is fsynced: it must be on disk before the
// transaction it announces is broadcast, so a rerun after a crash finds the hash.
func (l *Log) Append(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.User == "" {
		e.User = l.User
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	if e.Outcome == "sent" {
		return f.Sync()
	}
	return nil
}

// Read returns every entry in the log (for tests and `tx` lookups).
func (l *Log) Read() ([]Entry, error) {
	data, err := os.ReadFile(l.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return out, fmt.Errorf("audit log %s: %w", l.Path, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// CurrentUser names the operator for the log: the account's user name, else $USER
// as read through lookupEnv (os.LookupEnv in the binary; nil reads nothing).
func CurrentUser(lookupEnv func(string) (string, bool)) string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if lookupEnv != nil {
		if v, ok := lookupEnv("USER"); ok {
			return v
		}
	}
	return ""
}
