// Package audit appends one JSON line per transaction vrwxctl signs, sends or refuses
// to send, and per key operation (generate, promote, rollback, discard), to an
// append-only log (mode 0600 in the XDG state directory): who, where, what, the hash
// and the outcome, and the reason the operator gave. A transaction gets a "sent" line
// before its broadcast and a later line with its outcome; Tracks reads a signer's
// transactions back so a rerun can find one whose outcome was never settled. It
// never holds key material: entries carry addresses and hashes only.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Outcomes of a transaction, in the order a transaction can go through them.
const (
	DryRun   = "dry-run"  // signed and simulated, never broadcast (final)
	Sent     = "sent"     // about to be broadcast: written and fsynced first
	Timeout  = "timeout"  // broadcast, still pending when vrwxctl stopped waiting
	Unknown  = "unknown"  // the broadcast failed and no RPC endpoint could say whether it got out
	Mined    = "mined"    // included and succeeded (final)
	Reverted = "reverted" // included and reverted (final)
	NotSent  = "not-sent" // no node has it and it can no longer be mined (final)
	// Refused: a safety rail stopped it before anything was sent or changed — no
	// confirmation, an earlier identical payment, the balance, the chain id (final).
	Refused = "refused"
	// Done and Failed end a key operation (final).
	Done   = "done"
	Failed = "failed"
)

// Final reports whether outcome ends a transaction's story.
func Final(outcome string) bool {
	switch outcome {
	case DryRun, Mined, Reverted, NotSent, Refused, Done, Failed:
		return true
	}
	return false
}

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
	// Call is the call as the summary showed it ("fund(to=0x…, amount=0.5 ETH)");
	// with Command, To and DataHash it is the transaction's intent.
	Call     string `json:"call,omitempty"`
	DataHash string `json:"dataHash,omitempty"`
	TxHash   string `json:"txHash,omitempty"`
	// Outcome is one of the constants above.
	Outcome string `json:"outcome"`
	Block   uint64 `json:"block,omitempty"`
	FeeWei  string `json:"feeWei,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	// ReconciledBy names the command that learned this outcome from the chain later,
	// when the command that sent the transaction never reported it.
	ReconciledBy string `json:"reconciledBy,omitempty"`
	// After lists earlier transactions of the same intent that the operator knew of
	// when sending this one as a new, separate payment.
	After []string `json:"after,omitempty"`
	// Replaces is the pending transaction this one replaced at its nonce (tx
	// speedup, tx cancel).
	Replaces string `json:"replaces,omitempty"`
	// Store, Version and Address describe a key operation: the store's reference,
	// the version it made or moved, and the address of that key (never the key).
	Store   string `json:"store,omitempty"`
	Version string `json:"version,omitempty"`
	Address string `json:"address,omitempty"`
}

// Intent is what makes two transactions "the same payment": command, recipient,
// call (amount included) and calldata.
func (e Entry) Intent() string {
	return strings.Join([]string{e.Command, strings.ToLower(e.To), e.Call, e.DataHash}, "|")
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
	// Error texts and reasons quote what failed: an RPC URL with its API key, a store
	// answer echoing a request. The log gets them redacted like every other output.
	line = []byte(redact.Text(string(line)))
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("audit log %s: %w", redact.Mask(l.Path), err)
	}
	if err := l.checkPrivate(); err != nil {
		return err
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	// A "sent" line must be on disk before the broadcast it announces; an outcome line
	// is what a rerun trusts instead of asking the chain again. Both are synced.
	if e.Outcome != DryRun {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit log %s: %w", l.Path, err)
		}
	}
	return nil
}

// Read returns every entry in the log, oldest first. A line that does not decode is
// an error naming its line number: the log is what stops a rerun from paying twice,
// so a damaged one is reported, not skipped.
func (l *Log) Read() ([]Entry, error) {
	if err := l.checkPrivate(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(l.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("audit log %s line %d: %w", l.Path, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("audit log %s: %w", l.Path, err)
	}
	return out, nil
}

// Replacement is what the log says replaced a transaction: the replacement's "sent"
// line (who, when, which command, its hash) and the latest line about it.
type Replacement struct {
	Sent, Last Entry
}

// ReplacementOf finds, in entries (oldest first), the transaction vrwxctl sent to
// replace hash: one that names it as replaced, or — for lines written before that
// was recorded — a later one from the same account on the same chain at the same
// nonce. nil when the log knows of none.
func ReplacementOf(entries []Entry, hash string) *Replacement {
	var orig *Entry
	for i := range entries {
		if strings.EqualFold(entries[i].TxHash, hash) {
			orig = &entries[i]
			break
		}
	}
	var out *Replacement
	for i := range entries {
		e := entries[i]
		if e.TxHash == "" || strings.EqualFold(e.TxHash, hash) {
			continue
		}
		named := strings.EqualFold(e.Replaces, hash)
		sameNonce := orig != nil && e.Nonce != nil && orig.Nonce != nil && *e.Nonce == *orig.Nonce &&
			e.ChainID == orig.ChainID && strings.EqualFold(e.From, orig.From) && e.Time.After(orig.Time)
		switch {
		case out == nil && e.Outcome == Sent && (named || sameNonce):
			out = &Replacement{Sent: e, Last: e}
		case out != nil && strings.EqualFold(e.TxHash, out.Sent.TxHash):
			out.Last = e
		}
	}
	return out
}

// Track is one broadcast transaction's story in the log.
type Track struct {
	// Sent is its "sent" line.
	Sent Entry
	// Last is the latest line about it (Sent itself when nothing followed).
	Last Entry
	// Reported is true when the run that sent it wrote a final outcome: the operator
	// was told how it ended.
	Reported bool
	// Acknowledged is true when a later transaction was sent as a new, separate
	// payment knowing of this one.
	Acknowledged bool
}

// Tracks returns the transactions that from sent on chainID, oldest first.
func (l *Log) Tracks(chainID uint64, from string) ([]Track, error) {
	entries, err := l.Read()
	if err != nil {
		return nil, err
	}
	byHash := map[string]*Track{}
	var order []string
	acked := map[string]bool{}
	for _, e := range entries {
		if e.ChainID != chainID || !strings.EqualFold(e.From, from) || e.TxHash == "" {
			continue
		}
		h := strings.ToLower(e.TxHash)
		t, seen := byHash[h]
		if e.Outcome == Sent {
			for _, a := range e.After {
				acked[strings.ToLower(a)] = true
			}
			if !seen {
				byHash[h] = &Track{Sent: e, Last: e}
				order = append(order, h)
			}
			continue
		}
		if !seen {
			continue
		}
		t.Last = e
		if Final(e.Outcome) && e.ReconciledBy == "" {
			t.Reported = true
		}
	}
	out := make([]Track, 0, len(order))
	for _, h := range order {
		t := byHash[h]
		t.Acknowledged = acked[h]
		out = append(out, *t)
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

// Outcomes lists every outcome a line can carry.
var Outcomes = []string{DryRun, Sent, Timeout, Unknown, Mined, Reverted, NotSent}

// Filter selects lines of the log; zero fields match everything.
type Filter struct {
	// Command matches the command or its group ("wallet" matches "wallet fund").
	Command string
	Outcome string
	// Since keeps lines written at or after it.
	Since time.Time
	// Account matches the sender or the recipient.
	Account string
	TxHash  string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Entry) bool {
	if f.Command != "" && e.Command != f.Command && !strings.HasPrefix(e.Command, f.Command+" ") {
		return false
	}
	if f.Outcome != "" && e.Outcome != f.Outcome {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if f.Account != "" && !strings.EqualFold(e.From, f.Account) && !strings.EqualFold(e.To, f.Account) {
		return false
	}
	if f.TxHash != "" && !strings.EqualFold(e.TxHash, f.TxHash) {
		return false
	}
	return true
}
