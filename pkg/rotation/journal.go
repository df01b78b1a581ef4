package rotation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/lazy"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/txflow"
)

// Modes of a rotation.
const (
	// Standard is the runbook's zero-downtime rotation.
	Standard = "standard"
	// Emergency is the rotation of a compromised key: the old wallet is drained
	// first, with raised fees, before anything else spends time.
	Emergency = "emergency"
)

// Statuses of a rotation and of its steps.
const (
	StatusPending    = "pending"     // not started
	StatusStarted    = "started"     // begun; a killed run stopped inside it
	StatusDone       = "done"        // finished
	StatusFailed     = "failed"      // stopped with an error; resumable
	StatusInProgress = "in-progress" // the rotation is not finished
	StatusComplete   = "complete"    // every step is done
	StatusRolledBack = "rolled-back" // undone by --rollback
	StatusDryRun     = "dry-run"     // a plan only; nothing was changed
	StatusNotDue     = "not-due"     // the current key is younger than asked; nothing was changed
	// StatusEndedElsewhere: this machine's journal of a rotation that the store no
	// longer holds — finished or undone from another machine.
	StatusEndedElsewhere = "ended-elsewhere"
	// StatusRefused: another rotation claimed the store first; this one changed
	// nothing.
	StatusRefused = "refused"
)

// Step names.
const (
	StepGenerate = "generate" // write a new key into the store as pending
	StepFund     = "fund"     // treasury → new address
	StepPromote  = "promote"  // pending → current
	StepDeploy   = "deploy"   // run the deployment command (or say what to run)
	StepVerify   = "verify"   // /health reports the new address
	StepSettle   = "settle"   // the old address has no pending transactions
	StepDrain    = "drain"    // old wallet → treasury, exactly
)

// Steps lists a mode's steps in the order they run. An emergency generates and
// promotes at once, then drains the compromised wallet before funding the new one;
// its drain replaces whatever the old account has pending, so there is nothing to
// settle.
func Steps(mode string) []string {
	if mode == Emergency {
		return []string{StepGenerate, StepPromote, StepDrain, StepFund, StepDeploy, StepVerify}
	}
	return []string{StepGenerate, StepFund, StepPromote, StepDeploy, StepVerify, StepSettle, StepDrain}
}

// Journal is a rotation's record on disk, rewritten atomically before and after
// every step: enough to resume it after the process is killed anywhere, and to
// audit it afterwards. It holds addresses, secret version ids, transaction hashes
// and outcomes — never a key. It is also the -o json output of key rotate.
type Journal struct {
	// JournalVersion is the shape of this file.
	JournalVersion int        `json:"journalVersion"`
	ID             string     `json:"id"`
	Mode           string     `json:"mode"`
	Status         string     `json:"status"`
	Store          string     `json:"store"`
	Profile        string     `json:"profile"`
	ChainID        uint64     `json:"chainId"`
	StartedAt      time.Time  `json:"startedAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	FinishedAt     *time.Time `json:"finishedAt,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	// Path is where the journal lives (not stored in the file itself).
	Path string `json:"path,omitempty"`

	Treasury Account `json:"treasury"`
	Old      KeyRef  `json:"old"`
	New      KeyRef  `json:"new"`
	// Discard is the pending version of an abandoned rotation that the generate
	// step clears first (asked for explicitly).
	Discard *KeyRef `json:"discardPending,omitempty"`
	FundWei string  `json:"fundWei"`
	// APIURL is the /health base URL; "" when it carried credentials, which are
	// never written down (a resume then needs the URL again).
	APIURL    string   `json:"apiUrl,omitempty"`
	DeployCmd []string `json:"deployCmd,omitempty"`
	// Deploys records every run of a deploy command, in order: what ran, when, and
	// how it ended. Messages about what ran come from here, never from DeployCmd
	// (the command the next run would use).
	Deploys []DeployRun `json:"deploys,omitempty"`
	// Source says where this journal came from: "" (written by this machine's run
	// from the start) or "store" (rebuilt on this machine from the store's claim,
	// the chain and /health, the rotation having started elsewhere).
	Source string `json:"source,omitempty"`
	// Checks are what the plan checked before anything changed (the dry run's
	// lines, and a real run's).
	Checks []report.Check `json:"checks,omitempty"`

	Steps []Step       `json:"steps"`
	Drain *DrainResult `json:"drain,omitempty"`
	// Transactions are what a dry run signed and simulated (not sent).
	Transactions []*txflow.Result `json:"transactions,omitempty"`
	// Next says what to do now that the rotation stopped (or finished).
	Next []string `json:"next,omitempty"`
}

// Account is an address and the signer reference it was read from.
type Account struct {
	Address string `json:"address"`
	Signer  string `json:"signer,omitempty"`
}

// KeyRef names one version of the rotated key: its version id in the store, the
// reference that reads exactly that version, and its address.
type KeyRef struct {
	VersionID string `json:"versionId,omitempty"`
	Ref       string `json:"ref,omitempty"`
	Address   string `json:"address,omitempty"`
}

// Step is one step's record.
type Step struct {
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Attempts counts the runs that started this step.
	Attempts int    `json:"attempts,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Error    string `json:"error,omitempty"`
	// TxHashes are the transactions this step signed, in order; the hash is
	// written here before the broadcast.
	TxHashes []string `json:"txHashes,omitempty"`
	Block    uint64   `json:"block,omitempty"`
}

// DeployRun is one run of the deploy command.
type DeployRun struct {
	Command    string     `json:"command"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Outcome is "exit 0", the error, or "" while it runs (or when the process
	// died during it).
	Outcome string `json:"outcome,omitempty"`
}

// DrainResult is what the drain moved and left.
type DrainResult struct {
	TxHash   string `json:"txHash"`
	ValueWei string `json:"valueWei"`
	FeeWei   string `json:"feeWei,omitempty"`
	// ExpectedLeftoverWei is 0 on an L1 chain; on an OP-stack chain, the L1-fee
	// bound reserved minus the L1 fee quoted.
	ExpectedLeftoverWei string `json:"expectedLeftoverWei"`
	ActualLeftoverWei   string `json:"actualLeftoverWei"`
	// ReplacedNonce is set when an emergency drain replaced a pending transaction.
	ReplacedNonce *uint64 `json:"replacedNonce,omitempty"`
	ReplacedTx    string  `json:"replacedTx,omitempty"`
}

// Step returns the record of the named step (nil if the mode has none).
func (j *Journal) Step(name string) *Step {
	for i := range j.Steps {
		if j.Steps[i].Name == name {
			return &j.Steps[i]
		}
	}
	return nil
}

// Index is the step's 1-based position, for "step 3/7".
func (j *Journal) Index(name string) int {
	for i := range j.Steps {
		if j.Steps[i].Name == name {
			return i + 1
		}
	}
	return 0
}

var unsafeName = &lazy.Regexp{Expr: `[^A-Za-z0-9._-]+`}

// JournalPath is where the journal of the rotation of store lives under dir: one
// file per store, named after it (readable) and its hash (unique).
func JournalPath(dir, store string) string {
	sum := sha256.Sum256([]byte(store))
	name := strings.Trim(unsafeName.ReplaceAllString(store, "_"), "_")
	if len(name) > 80 {
		name = name[:80]
	}
	return filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:4])+".json")
}

// LoadJournal reads the journal at path; (nil, nil) when there is none.
func LoadJournal(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Failedf("reading the rotation journal %s", path).Wrap(err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, errs.Failedf("the rotation journal %s is not valid JSON", path).Wrap(err).
			WithFix("inspect it; it holds no key, only addresses, versions and hashes")
	}
	if j.JournalVersion != 1 {
		return nil, errs.Failedf("the rotation journal %s has version %d; this vrwxctl reads version 1", path, j.JournalVersion)
	}
	j.Path = path
	return &j, nil
}

// Save rewrites the journal atomically: a new file (mode 0600) in the same
// directory, flushed, renamed over the old one, the directory flushed — so a kill
// at any moment leaves either the old journal or the new one, never a torn file.
func (j *Journal) Save(now time.Time) error {
	j.UpdatedAt = now.UTC()
	dir := filepath.Dir(j.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return errs.Failedf("creating the rotation journal directory %s", dir).Wrap(err)
	}
	// A step's error and the advice quote what failed — an RPC URL with its API key,
	// a store's answer echoing the request — and go through the scrubber like every
	// other output; the file as a whole loses any registered key.
	for i := range j.Steps {
		j.Steps[i].Error = redact.Text(j.Steps[i].Error)
	}
	for i := range j.Next {
		j.Next[i] = redact.Text(j.Next[i])
	}
	for i := range j.Deploys {
		j.Deploys[i].Outcome = redact.Text(j.Deploys[i].Outcome)
	}
	path := j.Path
	j.Path = ""
	b, err := json.MarshalIndent(j, "", "  ")
	j.Path = path
	if err != nil {
		return errs.Failedf("encoding the rotation journal").Wrap(err)
	}
	b = []byte(redact.Keys(string(b)))
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return errs.Failedf("writing the rotation journal in %s", dir).Wrap(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return errs.Failedf("writing the rotation journal %s", tmp).Wrap(err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return errs.Failedf("writing the rotation journal %s", tmp).Wrap(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return errs.Failedf("flushing the rotation journal %s", tmp).Wrap(err)
	}
	if err := f.Close(); err != nil {
		return errs.Failedf("writing the rotation journal %s", tmp).Wrap(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errs.Failedf("replacing the rotation journal %s", path).Wrap(err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// archive moves a finished journal aside (PATH without .json, plus its finish
// time), so the next rotation of the store starts a new one and the old stays.
func archive(j *Journal) error {
	stamp := j.UpdatedAt.UTC().Format("20060102T150405Z")
	to := strings.TrimSuffix(j.Path, ".json") + "." + stamp + "." + j.Status + ".json"
	if err := os.Rename(j.Path, to); err != nil {
		return errs.Failedf("archiving the finished rotation journal %s", j.Path).Wrap(err)
	}
	return nil
}

// Lock is the advisory lock (flock) that makes one key rotate at a time work on
// a store on this host. The kernel drops it when the process dies, however it
// dies, so a killed rotation never leaves a stale lock.
type Lock struct{ f *os.File }

// AcquireLock takes the lock next to the journal at journalPath without waiting:
// a second rotation of the same store is refused, not queued.
func AcquireLock(journalPath, store string) (*Lock, error) {
	p := strings.TrimSuffix(journalPath, ".json") + ".lock"
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, errs.Failedf("rotation lock %s", p).Wrap(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, errs.Failedf("rotation lock %s", p).Wrap(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another key rotate"
			if b, rerr := os.ReadFile(p); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					who += fmt.Sprintf(" (pid %d)", pid)
				}
			}
			return nil, errs.Refusedf("%s is rotating %s on this host; a second rotation of the same key is refused", who, store).
				WithFix("let it finish; if it is stuck, stop that process and resume the rotation")
		}
		return nil, errs.Failedf("rotation lock %s", p).Wrap(err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock; safe on nil and more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
