// Package rotation is the relayer key rotation as one resumable, crash-safe
// workflow: the runbook's zero-downtime procedure (generate the new key in its
// store as pending, fund it from the treasury, promote it, restart the API, wait
// for /health to report it, let the old address's transactions settle, drain the
// old wallet into the treasury) and its emergency procedure for a compromised key
// (generate and promote at once, drain the old wallet first with raised fees,
// then fund, restart and verify).
//
// A rotation's claim and state live where every machine can read them: the store
// holds its claim — taken atomically with the new pending version, carrying the
// rotation's identity — and the chain its transactions and balances, so a second
// rotation is refused from any machine and a stopped one is resumed from any
// machine, rebuilt from the store, the chain and /health when this machine has no
// journal. Every step checks the truth before it acts: funding and draining look at
// the journal's hashes, then at the chain (a transfer to the new address, a drain
// into the treasury, from any machine) and the balances, and the send path's
// payment guard stands behind them; promotion checks which version is current and
// refuses a store someone else changed. The journal (see Journal), rewritten before
// and after every step, is this machine's cache and record. A pending version no
// rotation claims is never taken over nor overwritten.
//
// The package has no CLI in it: the store, the chain (txflow.Chain), the treasury
// signer, the audit log, /health (Health), the hook runner, the clock and the
// journal directory are given — small interfaces, so the decisions are tested with
// fakes in milliseconds and the wiring on anvil — and advice that names vrwxctl's
// own commands comes from the caller (Advice).
package rotation

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Options are a rotation's inputs and dependencies.
type Options struct {
	IO *ui.IO
	// Store is the relayer key's store (a reference without ?stage= or ?version=).
	Store secrets.Store
	// Chain reads and sends (*chain.Client; a fake in the decision tests).
	Chain txflow.Chain
	// OpenSigner opens a signer reference (the treasury's).
	OpenSigner func(ctx context.Context, ref string) (txflow.Signer, error)
	// TreasuryRef is the treasury's signer reference; "" on a resume (the journal's).
	TreasuryRef string
	// Treasury is the treasury's address as the profile names it; when set it must
	// be the address of TreasuryRef.
	Treasury *common.Address
	// Audit, LockDir, Profile, Fees and Next build the send path (txflow.Flow).
	Audit   *audit.Log
	LockDir string
	Profile string
	Fees    chain.FeePolicy
	Next    txflow.Next
	// FundingLimit refuses funding above it (nil or 0: no limit).
	FundingLimit *big.Int
	Health       Health
	// APIURL is the API whose /health must report the new address ("" on a resume:
	// the journal's).
	APIURL string
	// Hook runs DeployCmd (the deployment command, split into argv); with no
	// command the rotation says what to run and waits for /health.
	Hook      HookRunner
	DeployCmd []string
	// Environ is the environment the deploy command starts from (the process's;
	// nil: an empty one). What it runs with is DeployEnv of it: no variable that
	// EnvRefs, the store or the treasury's signer names, none holding a key.
	Environ []string
	// EnvRefs are more signer references whose variables the deploy command must
	// not see (the profile's signers).
	EnvRefs []string
	// Dir holds the journals and rotation locks (a directory under the state dir).
	Dir string
	Now func() time.Time
	// Poll is how often /health and nonces are read while waiting (default 2s).
	Poll time.Duration
	// WaitTimeout bounds each wait: the deploy command, /health, pending
	// transactions (default 10m).
	WaitTimeout time.Duration
	// StepTimeout bounds each step's chain work, a send's receipt included
	// (0: only ctx).
	StepTimeout time.Duration
	// Checkpoint is called at every step boundary and between journaling a
	// transaction's hash and broadcasting it, with the point's name ("fund:signed",
	// "promote:finished", …); tests kill the process there. nil: nothing.
	Checkpoint func(point string)
	Advice     Advice

	// Window is how far back the chain is searched for the rotation's own
	// transactions and for the same payment (the profile's payment_window; 0: the
	// send path's default).
	Window time.Duration
	// By names who runs the rotation (user@host), recorded with its claim.
	By string
	// DefaultTreasuryRef and DefaultAPIURL are the profile's treasury_signer and
	// api_url: used by a resume or rollback whose journal is not on this machine
	// when no flag names them.
	DefaultTreasuryRef, DefaultAPIURL string
	// FindProgram finds the deploy command's program (exec.LookPath when nil): the
	// plan checks it exists before anything changes.
	FindProgram func(name string) (string, error)

	// Mode is Standard or Emergency (a new rotation; a resume takes the journal's).
	Mode string
	// Fund is what the new address receives (a new rotation).
	Fund *big.Int
	// MinAge, when set, rotates only a current key at least this old (by its
	// version's creation time); a younger one ends the run with StatusNotDue. A
	// scheduled job runs often and rotates when the key is due.
	MinAge time.Duration
	Reason string
	// Resume continues the store's rotation in progress; Rollback undoes it.
	Resume, Rollback bool
	// DiscardPending clears a pending version an abandoned rotation left behind.
	DiscardPending bool
	DryRun, Yes    bool
}

// Health reads the API's /health (*health.Client).
type Health interface {
	Get(ctx context.Context, apiURL string) (health.Result, error)
}

// Advice words the operator's next steps in the caller's commands.
type Advice struct {
	// Resume continues this rotation; Rollback undoes it.
	Resume, Rollback string
	// DiscardPending starts over without an abandoned pending version.
	DiscardPending string
	// Restart is what restarts the API when no deployment command is given.
	Restart string
	// Stuck replaces a stuck transaction of the account behind ref.
	Stuck func(ref string) string
	// Drain empties the account behind ref into the treasury.
	Drain func(ref string) string
	// Health checks that /health reports addr.
	Health func(addr common.Address) string
}

// FollowUps are the runbook's steps after an emergency rotation.
var FollowUps = []string{
	"investigate the breach: how the key leaked, what the old address signed (audit log, the chain), and who could read the secret",
	"notify affected parties (security@vrwx.io, #vrwx-incidents) with the old and new addresses and the drain transaction",
}

// rotator runs one rotation.
type rotator struct {
	Options
	base     secrets.Ref
	claims   secrets.Claims
	treasury txflow.Signer
}

func (r *rotator) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *rotator) checkpoint(point string) {
	if r.Checkpoint != nil {
		r.Checkpoint(point)
	}
}

// poll is the interval between reads while waiting: Poll, else 2s — or a fifth of
// a short wait, so that a 3s wait still looks more than once.
func (r *rotator) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return min(2*time.Second, max(r.waitTimeout()/5, 50*time.Millisecond))
}

func (r *rotator) waitTimeout() time.Duration {
	if r.WaitTimeout > 0 {
		return r.WaitTimeout
	}
	return 10 * time.Minute
}

// stepCtx bounds one step's chain work.
func (r *rotator) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.StepTimeout > 0 {
		return context.WithTimeout(ctx, r.StepTimeout)
	}
	return context.WithCancel(ctx)
}

// Run plans, confirms and runs a rotation, resumes or rolls back the one in
// progress, and returns its journal. A dry run prints the plan and the checks and
// transactions it would need, and changes nothing.
//
// Where a rotation stands is read from the store (its claim: which rotation holds
// it, the versions), the chain and /health; the journal in the state directory is
// this machine's cache and record of it. A rotation started on another machine (a
// CI runner that is gone, a colleague's laptop) is refused as a new one, and
// resumed or rolled back from here as well as from there.
func Run(ctx context.Context, o Options) (*Journal, error) {
	if o.Store == nil || o.Chain == nil || o.IO == nil {
		return nil, errs.Usagef("rotation: a store, a chain client and IO are required")
	}
	r := &rotator{Options: o, base: o.Store.Ref()}
	if r.base.Versioned() {
		return nil, errs.Usagef("%s names one version of the key; a rotation takes the store itself: %s", r.base.String(), r.base.Base().String())
	}
	if !r.base.Writable() {
		return nil, errs.Usagef("%s is read-only; a rotation writes the new key into its store (aws-sm://, vault://, keystore:// or file://)", r.base.String())
	}
	claims, err := secrets.ClaimsOf(o.Store)
	if err != nil {
		return nil, err
	}
	r.claims = claims
	path := JournalPath(r.Dir, r.base.String())
	if !r.DryRun {
		// This host's fast path; the store's claim is what holds across machines.
		lock, err := AcquireLock(path, r.base.String())
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	j, err := LoadJournal(path)
	if err != nil {
		return nil, err
	}
	claim, err := r.readClaim(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Rollback:
		cur, err := r.inProgress(ctx, j, claim, path, "roll back")
		if err != nil || cur == nil {
			return cur, err
		}
		return r.rollback(ctx, cur)
	case r.Resume:
		cur, err := r.inProgress(ctx, j, claim, path, "resume")
		if err != nil || cur == nil || cur.Status != StatusInProgress {
			return cur, err
		}
		r.Mode = cur.Mode
		if err := r.reopen(ctx, cur); err != nil {
			return nil, err
		}
		r.printPlan(ctx, cur, true)
		if r.DryRun {
			cur.Status = StatusDryRun
			r.IO.Successf("dry run: the steps above would run; nothing was changed")
			return cur, nil
		}
		if err := r.confirm("Resume this rotation?"); err != nil {
			return nil, err
		}
		return r.run(ctx, cur)
	}
	if claim != nil && !(claim.Unidentified && r.DiscardPending) {
		return nil, r.claimedRefusal(claim, "a second one is refused")
	}
	nj, err := r.plan(ctx, path)
	if err != nil {
		return nil, err
	}
	if nj.Status == StatusNotDue {
		return nj, nil
	}
	if claim != nil {
		nj.Discard = &KeyRef{VersionID: claim.Version, Address: claim.Address.Hex(), Ref: r.base.AtVersion(claim.Version).String()}
		r.IO.Warnf("the store holds %s; it will be discarded (kept in the store's history, no longer pending)", claimWhat(claim))
	}
	r.printPlan(ctx, nj, false)
	failed := r.printChecks(nj)
	if failed > 0 {
		// A check can fail because another rotation took the store meanwhile (its
		// API already runs its new key): that is the reason to give.
		if c, err := r.readClaim(ctx); err == nil && c != nil {
			return nil, r.claimedRefusal(c, "a second one is refused")
		}
		return nil, errs.Refusedf("%d check(s) above failed: the rotation would not get through; nothing was changed", failed).
			WithFix("fix what each failed line says, then run it again (--dry-run checks without changing anything)")
	}
	if r.DryRun {
		return r.dryRun(ctx, nj)
	}
	if err := r.confirm("Rotate the relayer key?"); err != nil {
		return nil, err
	}
	if j != nil {
		if j.Status == StatusInProgress {
			// This machine's journal of a rotation the store no longer holds: it
			// ended (or was undone) elsewhere.
			j.Status = StatusEndedElsewhere
		}
		if err := archive(j); err != nil {
			return nil, err
		}
	}
	return r.run(ctx, nj)
}

func (r *rotator) confirm(q string) error {
	if r.Yes {
		return nil
	}
	return r.IO.Confirm(q)
}

func (r *rotator) nothingInProgress(j *Journal, what string) error {
	if j == nil {
		return errs.Failedf("no rotation of %s is in progress on this host: there is nothing to %s", r.base.String(), what)
	}
	return errs.Failedf("the last rotation of %s is %s (%s): there is nothing to %s", r.base.String(), j.Status, j.UpdatedAt.Format(time.RFC3339), what)
}

// reopen takes what a resume needs: the treasury signer (a flag, this machine's
// journal, or the profile's treasury_signer; it must hold the key of the
// rotation's treasury), the API URL and the deploy command. A deploy command given
// now replaces the journal's, and when /health has not yet reported the new key
// the deploy step runs again with it: a resume runs what it says.
func (r *rotator) reopen(ctx context.Context, j *Journal) error {
	if j.Store != r.base.String() {
		return errs.Failedf("the journal %s is of %s, not %s", j.Path, j.Store, r.base.String())
	}
	ref := r.TreasuryRef
	if ref == "" {
		ref = j.Treasury.Signer
	}
	if ref == "" {
		ref = r.DefaultTreasuryRef
	}
	if ref == "" {
		return errs.Usagef("this rotation funds from the treasury %s, and no signer for it is known on this machine; name it with --treasury-signer", j.Treasury.Address)
	}
	if j.Treasury.Signer != "" && r.TreasuryRef != "" && r.TreasuryRef != j.Treasury.Signer {
		return errs.Usagef("this rotation funds from %s (journal %s), not %s", j.Treasury.Signer, j.Path, r.TreasuryRef)
	}
	r.TreasuryRef = ref
	t, err := r.OpenSigner(ctx, r.TreasuryRef)
	if err != nil {
		return err
	}
	if !strings.EqualFold(t.Address().Hex(), j.Treasury.Address) {
		return errs.Failedf("%s holds the key of %s, but this rotation funds from %s", r.TreasuryRef, t.Address().Hex(), j.Treasury.Address)
	}
	r.treasury = t
	j.Treasury.Signer = ref
	if len(r.DeployCmd) > 0 {
		j.DeployCmd = r.DeployCmd
		if v, d := j.Step(StepVerify), j.Step(StepDeploy); v != nil && d != nil && v.Status != StatusDone && d.Status == StatusDone {
			d.Status, d.Outcome = StatusPending, ""
			r.IO.Infof("  the deploy step runs again with the command given: `%s`", QuoteCommand(r.DeployCmd))
		}
	}
	switch {
	case r.APIURL != "":
		j.APIURL = storableURL(r.APIURL)
	case j.APIURL != "":
		r.APIURL = j.APIURL
	default:
		r.APIURL = r.DefaultAPIURL
		j.APIURL = storableURL(r.APIURL)
	}
	if r.APIURL == "" {
		return errs.Usagef("no API URL for this rotation's /health check: its journal here has none (it held credentials, or the rotation started elsewhere); give --api-url")
	}
	return nil
}

// storableURL is the URL as the journal may hold it: "" when it carries
// credentials (a resume then needs it again).
func storableURL(u string) string {
	if chain.RedactURL(u) != u {
		return ""
	}
	return u
}

// run executes the steps not done yet, saving the journal around each.
func (r *rotator) run(ctx context.Context, j *Journal) (*Journal, error) {
	if err := j.Save(r.now()); err != nil {
		return nil, err
	}
	for i := range j.Steps {
		st := &j.Steps[i]
		if st.Status == StatusDone {
			continue
		}
		if err := r.step(ctx, j, st); err != nil {
			if st.Name == StepGenerate && j.New.VersionID == "" && isClaimed(err) {
				// Another rotation claimed the store first: this one changed nothing
				// and is over; there is nothing of it to resume.
				st.Status, st.Error = StatusFailed, err.Error()
				j.Status, j.Next = StatusRefused, []string{errs.FixOf(err)}
				if serr := j.Save(r.now()); serr != nil {
					r.IO.Warnf("the journal %s could not be updated: %v", j.Path, serr)
				}
				return j, err
			}
			return j, r.stopped(j, st, err)
		}
	}
	// The rotation is done: its claim on the store goes, and the next may start.
	if err := r.change(j, "release").Release(ctx, j.ID); err != nil {
		return j, r.stopped(j, &j.Steps[len(j.Steps)-1], errs.Failedf("every step is done, but the store's claim of rotation %s could not be released", j.ID).Wrap(err))
	}
	now := r.now()
	j.Status, j.FinishedAt = StatusComplete, &now
	j.Next = nil
	if j.Mode == Emergency {
		j.Next = append(j.Next, FollowUps...)
	}
	if err := j.Save(now); err != nil {
		return j, err
	}
	r.IO.Successf("rotation of %s complete: the relayer runs on %s (version %s); %s is drained", r.base.String(), j.New.Address, j.New.VersionID, j.Old.Address)
	if j.Mode == Emergency {
		r.IO.Warnf("emergency follow-ups:")
		for _, f := range FollowUps {
			r.IO.Infof("  - %s", f)
		}
	}
	return j, nil
}

// step runs one step with the journal saved before and after it.
func (r *rotator) step(ctx context.Context, j *Journal, st *Step) error {
	now := r.now()
	st.Status, st.StartedAt, st.FinishedAt, st.Error = StatusStarted, &now, nil, ""
	st.Attempts++
	if err := j.Save(now); err != nil {
		return err
	}
	r.IO.Infof("→ step %d/%d %s: %s", j.Index(st.Name), len(j.Steps), st.Name, describe(j, st.Name))
	r.checkpoint(st.Name + ":started")
	var outcome string
	var err error
	switch st.Name {
	case StepGenerate:
		outcome, err = r.generate(ctx, j)
	case StepFund:
		outcome, err = r.fund(ctx, j, st)
	case StepPromote:
		outcome, err = r.promote(ctx, j)
	case StepDeploy:
		outcome, err = r.deploy(ctx, j)
	case StepVerify:
		outcome, err = r.verify(ctx, j)
	case StepSettle:
		outcome, err = r.settle(ctx, j)
	case StepDrain:
		outcome, err = r.drain(ctx, j, st)
	default:
		err = errs.Failedf("the journal %s names an unknown step %q", j.Path, st.Name)
	}
	if err != nil {
		return err
	}
	r.checkpoint(st.Name + ":finished")
	end := r.now()
	st.Status, st.FinishedAt, st.Outcome = StatusDone, &end, outcome
	if err := j.Save(end); err != nil {
		return err
	}
	r.IO.Successf("step %d/%d %s: %s", j.Index(st.Name), len(j.Steps), st.Name, outcome)
	r.checkpoint(st.Name + ":done")
	return nil
}

// stopped records a step's failure and says how to go on: the error keeps its
// kind (a timeout stays exit 4), and its fix says to resume or roll back.
func (r *rotator) stopped(j *Journal, st *Step, err error) error {
	st.Status, st.Error = StatusFailed, err.Error()
	j.Next = nil
	if fix := errs.FixOf(err); fix != "" {
		j.Next = append(j.Next, fix)
	}
	j.Next = append(j.Next, "then continue where it stopped: "+r.Advice.Resume)
	drainStarted := false
	if d := j.Step(StepDrain); d != nil && d.Status != StatusPending {
		drainStarted = true
	}
	if !drainStarted && r.Advice.Rollback != "" {
		j.Next = append(j.Next, "or undo the rotation (the previous key becomes current again): "+r.Advice.Rollback)
	}
	if serr := j.Save(r.now()); serr != nil {
		r.IO.Warnf("the journal %s could not be updated: %v", j.Path, serr)
	}
	verb := "stopped"
	if errors.Is(err, errs.ErrInterrupted) {
		verb = "interrupted"
	}
	kind := errs.KindOf(err)
	if kind == errs.OK {
		kind = errs.Failed
	}
	// The error says where it stopped, the journal that resumes it and — as its fix,
	// said once, also in JSON — the next steps (the journal keeps them too). The
	// store holds the rotation's claim: it can be continued from any machine.
	return (&errs.Error{Kind: kind, Msg: fmt.Sprintf("rotation %s at step %d/%d %s (journal %s)", verb, j.Index(st.Name), len(j.Steps), st.Name, j.Path), Err: err}).
		WithFix(strings.Join(j.Next, "; "))
}

// describe says what a step does, for the plan and progress lines.
func describe(j *Journal, step string) string {
	fund := "?"
	if w, ok := new(big.Int).SetString(j.FundWei, 10); ok {
		fund = units.FormatEther(w)
	}
	newAddr := j.New.Address
	if newAddr == "" {
		newAddr = "the new address"
	}
	switch step {
	case StepGenerate:
		if j.Mode == Emergency {
			return fmt.Sprintf("generate a new key in %s with crypto/rand (only its address is shown); it is promoted at once", j.Store)
		}
		return fmt.Sprintf("generate a new key in %s as the pending version, with crypto/rand (only its address is shown)", j.Store)
	case StepFund:
		return fmt.Sprintf("send %s ETH from the treasury %s to %s", fund, j.Treasury.Address, newAddr)
	case StepPromote:
		return fmt.Sprintf("make %s current; version %s (%s) becomes previous", newAddr, j.Old.VersionID, j.Old.Address)
	case StepDeploy:
		if len(j.DeployCmd) > 0 {
			return "run `" + QuoteCommand(j.DeployCmd) + "` (no shell; output below)"
		}
		return "no deploy command given: restart the API yourself so it loads the new key"
	case StepVerify:
		return fmt.Sprintf("wait until %s reports relayerAddress %s", health.URL(displayURL(j.APIURL)), newAddr)
	case StepSettle:
		return fmt.Sprintf("wait until the old address %s has no pending transactions", j.Old.Address)
	case StepDrain:
		how := "the exact drain: balance minus its own fee, leaving 0 wei (on an OP-stack chain, the L1-fee reserve)"
		if j.Mode == Emergency {
			how += ", with raised fees, replacing whatever the old address has pending"
		}
		return fmt.Sprintf("drain the old wallet %s into the treasury %s, signed by %s: %s", j.Old.Address, j.Treasury.Address, j.Old.Ref, how)
	}
	return step
}

func displayURL(u string) string {
	if u == "" {
		return "the API (URL not journaled)"
	}
	return chain.RedactURL(u)
}

// printPlan writes the plan to stderr: every step with addresses, amounts and
// secret versions, and on a resume what is already done.
func (r *rotator) printPlan(ctx context.Context, j *Journal, resume bool) {
	s := r.IO.ErrStyles()
	w := r.IO.ErrOut
	title := "Key rotation plan"
	if j.Mode == Emergency {
		title = "EMERGENCY key rotation plan (compromised key)"
	}
	if resume {
		title = "Resuming " + strings.ToLower(title[:1]) + title[1:]
	}
	fmt.Fprintln(w, s.Bold.Render(title))
	var fl ui.Fields
	fl.Row("store", j.Store)
	fl.Row("chain", fmt.Sprintf("%s (%d)", j.Profile, j.ChainID))
	fl.Row("old key", fmt.Sprintf("%s, version %s (%s)%s", j.Old.Address, j.Old.VersionID, j.Old.Ref, r.balanceNote(ctx, j.Old.Address)))
	if j.New.Address != "" {
		fl.Row("new key", fmt.Sprintf("%s, version %s%s", j.New.Address, j.New.VersionID, r.balanceNote(ctx, j.New.Address)))
	}
	fl.Row("treasury", fmt.Sprintf("%s (%s)%s", j.Treasury.Address, j.Treasury.Signer, r.balanceNote(ctx, j.Treasury.Address)))
	if resume {
		fl.Row("journal", j.Path)
	}
	r.IO.RenderFields(&fl)
	for i, st := range j.Steps {
		mark := " "
		switch st.Status {
		case StatusDone:
			mark = "✓"
		case StatusStarted, StatusFailed:
			mark = "→"
		}
		fmt.Fprintf(w, "  %s %d %-9s %s\n", mark, i+1, st.Name, describe(j, st.Name))
	}
}

// balanceNote is ", balance X ETH" for the plan, or nothing when it cannot be read.
func (r *rotator) balanceNote(ctx context.Context, addr string) string {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	b, err := r.Chain.BalanceAt(ctx, common.HexToAddress(addr), chain.Latest)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(", balance %s ETH", units.FormatEther(b))
}

// plan reads everything a new rotation needs and checks it before anything
// changes (preflight): the current key, the treasury and what it can pay, the
// API, the deploy command, the store's permissions, the old key's pool.
func (r *rotator) plan(ctx context.Context, path string) (*Journal, error) {
	if r.Mode != Standard && r.Mode != Emergency {
		return nil, errs.Usagef("rotation mode %q is not standard or emergency", r.Mode)
	}
	if r.Fund == nil || r.Fund.Sign() <= 0 {
		return nil, errs.Usagef("no amount to fund the new relayer with")
	}
	if r.APIURL == "" {
		return nil, errs.Usagef("no API URL: the rotation must see /health report the new address")
	}
	if r.TreasuryRef == "" {
		return nil, errs.Usagef("no treasury signer: the rotation funds the new relayer from the treasury")
	}
	if err := txflow.CheckFundingLimit(r.Fund, r.FundingLimit); err != nil {
		return nil, errs.WithFix(err, "nothing was changed: fund less, or raise funding_limit_eth in the profile")
	}
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	_, cur, err := r.Store.Read(ctx, "")
	if err != nil {
		return nil, err
	}
	t, err := r.OpenSigner(ctx, r.TreasuryRef)
	if err != nil {
		return nil, err
	}
	r.treasury = t
	if r.Treasury != nil && *r.Treasury != t.Address() {
		return nil, errs.Usagef("the treasury signer %s holds the key of %s, but the profile's treasury is %s", r.TreasuryRef, t.Address().Hex(), r.Treasury.Hex())
	}
	if t.Address() == cur.Address {
		return nil, errs.Usagef("the treasury signer %s holds the relayer's own key (%s)", r.TreasuryRef, cur.Address.Hex())
	}
	now := r.now()
	j := &Journal{
		JournalVersion: 1, ID: newID(now), Mode: r.Mode, Status: StatusInProgress,
		Store: r.base.String(), Profile: r.Profile, ChainID: r.Chain.ChainID(), StartedAt: now, Reason: r.Reason, Path: path,
		Treasury: Account{Address: t.Address().Hex(), Signer: r.TreasuryRef},
		Old:      KeyRef{VersionID: cur.ID, Address: cur.Address.Hex(), Ref: r.base.AtVersion(cur.ID).String()},
		FundWei:  r.Fund.String(), APIURL: storableURL(r.APIURL), DeployCmd: r.DeployCmd,
	}
	for _, name := range Steps(r.Mode) {
		j.Steps = append(j.Steps, Step{Name: name, Status: StatusPending})
	}
	if r.MinAge > 0 {
		switch age := now.Sub(cur.Created); {
		case cur.Created.IsZero():
			r.IO.Warnf("%s does not say when its current version was created; rotating", r.base.String())
		case age < r.MinAge:
			j.Status, j.Steps, j.Path = StatusNotDue, nil, ""
			due := cur.Created.Add(r.MinAge).UTC().Format(time.RFC3339)
			j.Next = []string{fmt.Sprintf("the current key %s (version %s) was created %s, %s ago; it is due for rotation after %s",
				cur.Address.Hex(), cur.ID, cur.Created.UTC().Format(time.RFC3339), ui.Duration(age), due)}
			r.IO.Successf("not rotating: %s", j.Next[0])
			return j, nil
		}
	}
	j.Checks = r.preflight(ctx, j, t.Address())
	return j, nil
}

// pendingVersion finds the store's pending version, if any.
func (r *rotator) pendingVersion(ctx context.Context) (secrets.Version, bool, error) {
	return r.version(ctx, func(v secrets.Version) bool { return v.Has(secrets.StagePending) && !v.Has(secrets.StageCurrent) })
}
