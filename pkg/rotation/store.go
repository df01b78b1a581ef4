package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// A rotation's state lives where every machine can read it: the store holds its
// claim (which rotation, its mode, treasury, amount, the version it started from
// and the one it wrote), the chain its transactions and balances, /health what the
// API runs. This machine's journal is a cache and a record; without it (a fresh CI
// runner, another laptop) the rotation is rebuilt from those, and every step checks
// the truth before it acts.

// newID names a new rotation: its start and 32 random bits, so two rotations
// started in the same second on two machines are two.
func newID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "r-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// identity is the rotation as the store records it with its claim.
func (r *rotator) identity(j *Journal) secrets.Rotation {
	return secrets.Rotation{ID: j.ID, Mode: j.Mode, Started: j.StartedAt, By: r.By, Treasury: j.Treasury.Address, FundWei: j.FundWei, Old: j.Old.VersionID}
}

// readClaim reads the store's claim within the step bound.
func (r *rotator) readClaim(ctx context.Context) (*secrets.Claim, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	return r.claims.Claim(ctx)
}

// claimWhat names an unidentified claim.
func claimWhat(c *secrets.Claim) string {
	if c.Unmarked {
		return fmt.Sprintf("version %s (%s), newer than the current one and not marked — another rotation may be claiming the store at this moment, or one stopped before recording its claim", c.Version, c.Address.Hex())
	}
	what := "a pending version"
	if c.Version != "" {
		what += " " + c.Version
	}
	if c.Address != (common.Address{}) {
		what += " (" + c.Address.Hex() + ")"
	}
	return what + " that no rotation claims"
}

// claimedRefusal refuses a rotation because the store is claimed, with the next
// step that fits: let a running rotation finish, resume or undo a stopped one from
// any machine, or discard a pending version nobody claims.
func (r *rotator) claimedRefusal(c *secrets.Claim, tail string) error {
	if c.Unmarked {
		return errs.Refusedf("%s holds %s; this rotation will not overwrite it", r.base.String(), claimWhat(c)).
			WithFix(fmt.Sprintf("run it again in a minute: a rotation that is claiming the store will have recorded itself (and is refused or resumed by name); if none is running, start over without that version: %s", r.Advice.DiscardPending)).
			Marks(secrets.ErrClaimed)
	}
	if c.Unidentified {
		return errs.Refusedf("%s holds %s (written by `key generate`, by hand, or by a rotation that stopped before recording it); this rotation will not overwrite it",
			r.base.String(), claimWhat(c)).
			WithFix(fmt.Sprintf("inspect it (it may hold funds: %s), then start over without it: %s", r.drainAdvice(r.base.AtVersion(c.Version).String()), r.Advice.DiscardPending)).
			Marks(secrets.ErrClaimed)
	}
	return errs.Refusedf("a rotation of %s is in progress, claimed in the store: %s; %s", r.base.String(), c.Describe(), tail).
		WithFix(fmt.Sprintf("if it is running (on another machine, in a CI job) let it finish; if it stopped, continue it from any machine: %s; or undo it: %s",
			r.Advice.Resume, r.Advice.Rollback)).
		Marks(secrets.ErrClaimed)
}

func (r *rotator) drainAdvice(ref string) string {
	if r.Advice.Drain != nil {
		return r.Advice.Drain(ref)
	}
	return "drain " + ref
}

// inProgress is the rotation a resume or rollback works on: this machine's journal
// when it is the store's claim, else the claim rebuilt into a journal. With no
// claim in the store there is none: a journal here that says otherwise is of a
// rotation that ended elsewhere, and says so.
func (r *rotator) inProgress(ctx context.Context, j *Journal, claim *secrets.Claim, path, what string) (*Journal, error) {
	switch {
	case claim == nil && j != nil && j.Status == StatusInProgress && j.New.VersionID == "":
		// This machine's rotation stopped before it claimed the store: nothing has
		// changed, and its generate step claims it now.
		return j, nil
	case claim == nil:
		if j != nil && j.Status == StatusInProgress {
			cur, _ := r.currentVersion(ctx)
			j.Status = StatusEndedElsewhere
			now := r.now()
			j.FinishedAt = &now
			j.Next = []string{fmt.Sprintf("the store holds no rotation in progress: rotation %s was finished or undone from another machine; the current key is %s (version %s)",
				j.ID, cur.Address.Hex(), cur.ID)}
			if err := j.Save(now); err != nil {
				return nil, err
			}
			r.IO.Successf("%s: nothing to %s", j.Next[0], what)
			return j, nil
		}
		if j != nil && j.Status == StatusComplete && what == "resume" {
			r.IO.Successf("the last rotation of %s finished at %s: nothing to resume", r.base.String(), j.UpdatedAt.Format(time.RFC3339))
			return j, nil
		}
		return nil, r.nothingInProgress(j, what)
	case claim.Unidentified:
		return nil, errs.Refusedf("%s holds %s: there is no rotation to %s", r.base.String(), claimWhat(claim), what).
			WithFix(fmt.Sprintf("see `vrwxctl key versions --store %s`; to start over without it: %s", r.base.String(), r.Advice.DiscardPending))
	}
	if j != nil && j.ID == claim.ID && j.Status == StatusInProgress {
		if j.New.VersionID == "" && claim.Version != "" {
			// The run died between the claim and its journal's next save.
			j.New = KeyRef{VersionID: claim.Version, Address: claim.Address.Hex(), Ref: r.base.AtVersion(claim.Version).String()}
		}
		return j, nil
	}
	if j != nil && j.Status == StatusInProgress {
		j.Status = StatusEndedElsewhere
		if err := archive(j); err != nil {
			return nil, err
		}
	}
	return r.reconstruct(ctx, claim, path)
}

// reconstruct rebuilds a rotation from the store's claim: its identity, the
// versions it started from and wrote, and — by survey — which steps the store,
// the chain and /health show done.
func (r *rotator) reconstruct(ctx context.Context, c *secrets.Claim, path string) (*Journal, error) {
	mode := c.Mode
	if mode != Emergency {
		mode = Standard
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	old, ok, err := r.version(sctx, func(v secrets.Version) bool { return v.ID == c.Old })
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Failedf("rotation %s started from version %s of %s, which the store no longer has", c.ID, c.Old, r.base.String()).
			WithFix(fmt.Sprintf("see `vrwxctl key versions --store %s`", r.base.String()))
	}
	j := &Journal{
		JournalVersion: 1, ID: c.ID, Mode: mode, Status: StatusInProgress, Store: r.base.String(), Profile: r.Profile,
		ChainID: r.Chain.ChainID(), StartedAt: c.Started, Path: path, Source: "store",
		Treasury: Account{Address: common.HexToAddress(c.Treasury).Hex()},
		Old:      KeyRef{VersionID: c.Old, Address: old.Address.Hex(), Ref: r.base.AtVersion(c.Old).String()},
		FundWei:  c.FundWei,
	}
	if c.Version != "" {
		j.New = KeyRef{VersionID: c.Version, Address: c.Address.Hex(), Ref: r.base.AtVersion(c.Version).String()}
	}
	for _, name := range Steps(mode) {
		j.Steps = append(j.Steps, Step{Name: name, Status: StatusPending})
	}
	by := ""
	if c.By != "" {
		by = " by " + c.By
	}
	r.IO.Infof("no journal of rotation %s on this machine: rebuilt from the store's claim (started %s%s), the chain and /health",
		c.ID, c.Started.UTC().Format(time.RFC3339), by)
	r.survey(sctx, j, c)
	return j, nil
}

// survey marks the steps the store, the chain and /health show done, with what
// showed it. A step not marked runs, and checks again before it acts.
func (r *rotator) survey(ctx context.Context, j *Journal, c *secrets.Claim) {
	done := func(name, why string) {
		if st := j.Step(name); st != nil {
			now := r.now()
			st.Status, st.FinishedAt, st.Outcome = StatusDone, &now, "found done: "+why
		}
	}
	if c.Version == "" {
		return
	}
	done(StepGenerate, fmt.Sprintf("the store holds the new key %s as version %s", c.Address.Hex(), c.Version))
	newAddr := c.Address
	if a, err := r.Chain.Account(ctx, newAddr); err == nil && (a.Balance.Sign() > 0 || a.NoncePending > 0) {
		done(StepFund, fmt.Sprintf("%s holds %s ETH and has sent %d transaction(s)", newAddr.Hex(), units.FormatEther(a.Balance), a.NoncePending))
	}
	if c.Current {
		done(StepPromote, fmt.Sprintf("version %s (%s) is current", c.Version, newAddr.Hex()))
	}
	if r.APIURL != "" || r.DefaultAPIURL != "" {
		url := r.APIURL
		if url == "" {
			url = r.DefaultAPIURL
		}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := r.Health.Get(hctx, url)
		cancel()
		if err == nil && res.Health.RelayerAddress != nil && *res.Health.RelayerAddress == newAddr {
			done(StepDeploy, res.URL+" already runs the new key")
			done(StepVerify, fmt.Sprintf("%s reports relayerAddress %s", res.URL, newAddr.Hex()))
		}
	}
	if c.Current {
		old := common.HexToAddress(j.Old.Address)
		if a, err := r.Chain.Account(ctx, old); err == nil && a.Balance.Sign() == 0 && a.Waiting() == 0 {
			done(StepSettle, old.Hex()+" has no pending transactions")
			done(StepDrain, old.Hex()+" holds 0 wei")
			j.Drain = &DrainResult{ExpectedLeftoverWei: "0", ActualLeftoverWei: "0"}
			if t, err := r.drained(ctx, old, common.HexToAddress(j.Treasury.Address)); err == nil && t != nil {
				j.Drain.TxHash, j.Drain.ValueWei = t.Hash.Hex(), valueOf(t).String()
				j.Step(StepDrain).TxHashes = []string{t.Hash.Hex()}
			}
		}
	}
}

// funding finds the treasury's transfer to the new address on the chain: pending,
// or mined and successful within the payment window. A new address is this
// rotation's alone, so any such transfer is its funding, whichever machine sent it.
func (r *rotator) funding(ctx context.Context, treasury, to common.Address) (*chain.SentTx, error) {
	rec, err := r.Chain.SentBy(ctx, treasury, r.window())
	if err != nil {
		return nil, err
	}
	for _, t := range rec.Txs {
		if t.To != nil && *t.To == to && len(t.Data) == 0 && (t.Pending || t.Succeeded) {
			return &t, nil
		}
	}
	return nil, nil
}

// drained finds the old key's transfer into the treasury on the chain: pending,
// or mined and successful within the payment window.
func (r *rotator) drained(ctx context.Context, old, treasury common.Address) (*chain.SentTx, error) {
	rec, err := r.Chain.SentBy(ctx, old, r.window())
	if err != nil {
		return nil, err
	}
	for _, t := range rec.Txs {
		if t.To != nil && *t.To == treasury && len(t.Data) == 0 && (t.Pending || t.Succeeded) {
			return &t, nil
		}
	}
	return nil, nil
}

// settleTx waits for t (found on the chain, sent by this rotation on some machine)
// to be mined, and returns its receipt.
func (r *rotator) settleTx(ctx context.Context, t chain.SentTx) (*chain.Receipt, error) {
	if !t.Pending {
		rec := r.Chain.Reconcile(ctx, t.Hash, common.Address{})
		if rec.State == chain.StateMined {
			return rec.Receipt, nil
		}
	}
	r.IO.Infof("  %s, sent by a run of this rotation, is pending; waiting for it…", t.Hash.Hex())
	wctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	rcpt, err := r.Chain.WaitMined(wctx, t.Hash, r.poll(), nil)
	if err != nil {
		return nil, errs.WithFix(errs.Stopped(wctx, "waiting for "+t.Hash.Hex()+" to be mined",
			errs.Timeoutf("%s, sent by a run of this rotation, is still pending", t.Hash.Hex())), "do NOT send again; "+r.waitAdvice(t.Hash))
	}
	return rcpt, nil
}

// isClaimed reports a refusal because another rotation holds the store.
func isClaimed(err error) bool { return errors.Is(err, secrets.ErrClaimed) }

// oneLine shortens s for a progress line.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
