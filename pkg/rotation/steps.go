package rotation

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/keyops"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// generate writes a new key into the store as the pending version of this
// rotation and claims the store for it, atomically (secrets.Claims): of two
// rotations started at once on two machines, one claims and the other stops here,
// having written and funded nothing. Run again, it finds the version it wrote —
// in the journal, or as the store's claim of this rotation. An emergency promotes
// it at once.
func (r *rotator) generate(ctx context.Context, j *Journal) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	if j.New.VersionID == "" && j.Discard != nil {
		if c, err := r.claims.Claim(ctx); err != nil {
			return "", err
		} else if c != nil && c.Unidentified && c.Version == j.Discard.VersionID {
			if err := r.change(j, "discard-pending").DiscardPending(ctx, c.Version, c.Address.Hex()); err != nil {
				return "", err
			}
			r.IO.Infof("  discarded %s (kept in the store's history)", claimWhat(c))
		}
	}
	outcome := ""
	if j.New.VersionID != "" {
		v, ok, err := r.version(ctx, func(v secrets.Version) bool { return v.ID == j.New.VersionID })
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errs.Failedf("the new key's version %s is no longer in %s", j.New.VersionID, r.base.String())
		}
		if !strings.EqualFold(v.Address.Hex(), j.New.Address) {
			return "", errs.Failedf("version %s of %s holds %s, but this rotation generated %s", j.New.VersionID, r.base.String(), v.Address.Hex(), j.New.Address)
		}
		outcome = fmt.Sprintf("new key %s is version %s (%s)", j.New.Address, v.ID, strings.Join(v.Stages, ", "))
	} else {
		v, addr, err := r.change(j, "generate").Claim(ctx, r.identity(j))
		var held *secrets.ClaimedError
		if errors.As(err, &held) {
			return "", errs.WithFix(err, fmt.Sprintf("another rotation claimed %s first: this one wrote and funded nothing. If that one is running, let it finish; if it stopped, continue it: %s",
				r.base.String(), r.Advice.Resume))
		}
		if err != nil {
			return "", err
		}
		j.New = KeyRef{VersionID: v.ID, Address: addr.Hex(), Ref: r.base.AtVersion(v.ID).String()}
		outcome = fmt.Sprintf("new key %s written as version %s, pending; the store is claimed for rotation %s", j.New.Address, v.ID, j.ID)
	}
	if j.Mode == Emergency {
		if _, err := r.promote(ctx, j); err != nil {
			return "", err
		}
		outcome += "; promoted at once"
	}
	return outcome, nil
}

// promote makes the new version current, provided the old one still is (the
// store refuses otherwise: AWS by RemoveFromVersionId). A version that is current
// already (a resumed run, a promote by hand) is left as it is.
func (r *rotator) promote(ctx context.Context, j *Journal) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	cur, err := r.currentVersion(ctx)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(cur.Address.Hex(), j.New.Address) {
		return fmt.Sprintf("version %s (%s) is current", cur.ID, j.New.Address), nil
	}
	if !strings.EqualFold(cur.Address.Hex(), j.Old.Address) {
		return "", errs.Failedf("the current key of %s is %s (version %s), neither the old key %s nor the new %s: someone else changed the store",
			r.base.String(), cur.Address.Hex(), cur.ID, j.Old.Address, j.New.Address).
			WithFix("inspect the store's versions before going on")
	}
	if err := r.change(j, "promote").PromoteFrom(ctx, j.New.VersionID, j.New.Address, j.Old.VersionID); err != nil {
		return "", err
	}
	r.checkpoint(StepPromote + ":promoted")
	now, err := r.currentVersion(ctx)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(now.Address.Hex(), j.New.Address) {
		return "", errs.Failedf("after the promote the current key of %s is %s, not %s", r.base.String(), now.Address.Hex(), j.New.Address)
	}
	return fmt.Sprintf("version %s (%s) is current; version %s (%s) is previous", now.ID, j.New.Address, j.Old.VersionID, j.Old.Address), nil
}

// version finds the store's version that match accepts. Versions names each
// version's address without decrypting it (a keystore records its address in
// clear), so it is cheap where reading a key is not.
func (r *rotator) version(ctx context.Context, match func(secrets.Version) bool) (secrets.Version, bool, error) {
	vs, err := r.Store.Versions(ctx)
	if err != nil {
		return secrets.Version{}, false, err
	}
	for _, v := range vs {
		if match(v) {
			if v.Problem != "" {
				return v, true, errs.Failedf("version %s of %s cannot be read: %s", v.ID, r.base.String(), v.Problem)
			}
			return v, true, nil
		}
	}
	return secrets.Version{}, false, nil
}

// currentVersion is the store's current version (its address, not its key).
func (r *rotator) currentVersion(ctx context.Context) (secrets.Version, error) {
	v, ok, err := r.version(ctx, func(v secrets.Version) bool { return v.Has(secrets.StageCurrent) })
	if err == nil && !ok {
		err = errs.Failedf("%s has no current version", r.base.String())
	}
	return v, err
}

// deploy runs the deployment command, or says what to run when there is none.
// Each run is recorded in the journal before it starts and when it ends, so what
// the rotation later says ran is what ran.
func (r *rotator) deploy(ctx context.Context, j *Journal) (string, error) {
	if len(j.DeployCmd) == 0 {
		r.IO.Warnf("restart the API now so it loads the new key (for example `%s`); waiting for %s to report %s",
			r.Advice.Restart, health.URL(displayURL(r.APIURL)), j.New.Address)
		return "no deploy command: the API is to be restarted by hand", nil
	}
	if r.Hook == nil {
		return "", errs.Usagef("a deploy command was given but nothing can run it")
	}
	cmd := QuoteCommand(j.DeployCmd)
	j.Deploys = append(j.Deploys, DeployRun{Command: cmd, StartedAt: r.now()})
	if err := j.Save(r.now()); err != nil {
		return "", err
	}
	hctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	err := r.Hook(hctx, j.DeployCmd, r.deployEnv(hctx, j), r.IO.ErrOut)
	end := r.now()
	run := &j.Deploys[len(j.Deploys)-1]
	run.FinishedAt = &end
	if err != nil {
		run.Outcome = err.Error()
		if sig := errs.Interruption(ctx); sig != nil {
			run.Outcome = sig.Msg
			return "", errs.Stopped(ctx, "`"+cmd+"` ran (it may have restarted the API or not)", err)
		}
		return "", errs.Failedf("the deploy command failed; the new key is current in the store but the API may still run the old one").Wrap(err).
			WithFix("fix what made `" + cmd + "` fail (its output is above), then resume with the corrected --deploy-cmd")
	}
	run.Outcome = "exit 0"
	return "ran `" + cmd + "` (exit 0)", nil
}

// lastDeploy says what the journal records of the deploy command's last run.
func lastDeploy(j *Journal) string {
	if len(j.Deploys) == 0 {
		return ""
	}
	d := j.Deploys[len(j.Deploys)-1]
	what := "`" + d.Command + "` ran at " + d.StartedAt.UTC().Format(time.RFC3339)
	if d.Outcome != "" {
		what += " (" + d.Outcome + ")"
	}
	return what
}

// verify waits until /health reports the new address. An API that is down,
// restarting or still on the old key is waited for; one on another chain is not.
func (r *rotator) verify(ctx context.Context, j *Journal) (string, error) {
	want := common.HexToAddress(j.New.Address)
	ctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	start := time.Now()
	last := ""
	w := r.IO.Waiting(ctx, health.URL(displayURL(r.APIURL))+" to report "+want.Hex())
	defer w.Clear()
	for {
		res, err := r.Health.Get(ctx, r.APIURL)
		seen := ""
		switch {
		case err != nil:
			seen = err.Error()
		case res.Health.ChainID != j.ChainID:
			return "", errs.Failedf("%s reports chain %d, but this rotation is on chain %d: it is not this profile's API", res.URL, res.Health.ChainID, j.ChainID)
		case res.Health.RelayerAddress == nil:
			seen = fmt.Sprintf("%s reports no relayer (relayMode %q)", res.URL, res.Health.RelayMode)
		case *res.Health.RelayerAddress == want:
			return fmt.Sprintf("%s reports relayerAddress %s after %s", res.URL, want.Hex(), time.Since(start).Round(time.Millisecond)), nil
		case strings.EqualFold(res.Health.RelayerAddress.Hex(), j.Old.Address):
			seen = fmt.Sprintf("%s still reports the old key %s", res.URL, j.Old.Address)
		default:
			seen = fmt.Sprintf("%s reports %s, neither the old nor the new key", res.URL, res.Health.RelayerAddress.Hex())
		}
		if seen != last {
			w.Printf("  %s; waiting…", oneLine(seen))
			last = seen
		}
		w.Tick()
		select {
		case <-ctx.Done():
			fix := "restart the API so it reads the new key"
			switch ran := lastDeploy(j); {
			case ran != "":
				fix += " (" + ran + "; check that it restarts the API that " + displayURL(r.APIURL) + " serves, and give a corrected --deploy-cmd to the resume: it runs again)"
			case len(j.DeployCmd) > 0:
				fix += " (the deploy command did not run)"
			case r.Advice.Restart != "":
				fix += " (no deploy command ran: `" + r.Advice.Restart + "`, or give --deploy-cmd to the resume)"
			}
			if r.Advice.Health != nil {
				fix += ", and check with `" + r.Advice.Health(want) + "`"
			}
			e := errs.Stopped(ctx, "waiting for /health to report the new relayer "+want.Hex(),
				errs.Timeoutf("/health did not report the new relayer %s within %s (last: %s)", want.Hex(), r.waitTimeout(), last))
			return "", errs.WithFix(e, fix)
		case <-time.After(r.poll()):
		}
	}
}

// settle waits until the old address has no pending transactions, so the drain
// neither races a relay the old API instance still has in flight nor strands it.
func (r *rotator) settle(ctx context.Context, j *Journal) (string, error) {
	old := common.HexToAddress(j.Old.Address)
	ctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	w := r.IO.Waiting(ctx, "the pending transactions of "+old.Hex()+" to be mined")
	s, err := txflow.WaitSettled(ctx, r.Chain, old, min(r.poll(), time.Second), func(s *chain.AccountState, first bool) {
		if first {
			w.Printf("  %s has %d pending transaction(s) (nonces %d..%d); waiting for them to be mined…", old.Hex(), s.Waiting(), s.NonceLatest, s.NoncePending-1)
		}
		w.Tick()
	})
	w.Clear()
	if errors.Is(err, txflow.ErrStillPending) && r.Advice.Stuck != nil {
		return "", errs.WithFix(err, r.Advice.Stuck(j.Old.Ref))
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s has no pending transactions (nonce %d)", old.Hex(), s.NonceLatest), nil
}

// flow is the send path for one step's transaction: confirmed already (the plan
// was), journaling the hash before the broadcast.
func (r *rotator) flow(j *Journal, st *Step, s txflow.Signer) *txflow.Flow {
	return &txflow.Flow{
		Chain: r.Chain, Signer: s, IO: r.IO, Audit: r.Audit, LockDir: r.LockDir, Profile: r.Profile,
		Command: "key rotate", Reason: r.Reason, Yes: true, Next: r.Next, Window: r.Window,
		Signed: func(h common.Hash, nonce uint64) error {
			st.TxHashes = append(st.TxHashes, h.Hex())
			if err := j.Save(r.now()); err != nil {
				return err
			}
			r.checkpoint(st.Name + ":signed")
			return nil
		},
	}
}

// earlier looks at the transactions this step journaled, newest first, and says
// whether one of them already did the step. A pending one is waited for; one the
// chain cannot account for stops the step (sending again could pay twice).
func (r *rotator) earlier(ctx context.Context, st *Step, from common.Address) (*chain.Receipt, string, error) {
	for i := len(st.TxHashes) - 1; i >= 0; i-- {
		h := common.HexToHash(st.TxHashes[i])
		rec := r.Chain.ReconcileSettled(ctx, h, from)
		switch rec.State {
		case chain.StateMined:
			if rec.Receipt.Succeeded() {
				return rec.Receipt, h.Hex(), nil
			}
		case chain.StatePending:
			r.IO.Infof("  %s, sent by an earlier run, is pending; waiting for it…", h.Hex())
			wctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
			rcpt, err := r.Chain.WaitMined(wctx, h, r.poll(), nil)
			if err != nil {
				err = errs.WithFix(errs.Stopped(wctx, "waiting for "+h.Hex()+" to be mined",
					errs.Timeoutf("%s, sent by an earlier run, is still pending", h.Hex())), "do NOT send again; "+r.waitAdvice(h))
				cancel()
				return nil, "", err
			}
			cancel()
			if rcpt.Succeeded() {
				return rcpt, h.Hex(), nil
			}
		case chain.StateAbsent:
			// Signed and journaled, never broadcast (or dropped): it cannot be mined
			// any more once its nonce is used, and the send path's rerun guard
			// settles it in the audit log.
		default:
			return nil, "", errs.Timeoutf("could not tell what became of %s, sent by an earlier run (%s)", h.Hex(), rec.Summary()).
				WithFix("do NOT send again; " + r.waitAdvice(h))
		}
	}
	return nil, "", nil
}

// fund sends the new address its funding from the treasury, once, whichever
// machine runs it: a transaction this machine's journal holds that was mined (or
// is pending) did it; so did a transfer from the treasury to the new address the
// chain shows (pending, or mined within the payment window), whoever sent it; and
// so did anything that put ETH there or spent from it (the address is this
// rotation's alone). Only then does it send — and the send path's own guard stands
// behind it: a run that loses the race to another machine's identical funding
// waits for that one instead.
func (r *rotator) fund(ctx context.Context, j *Journal, st *Step) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	amount, _ := new(big.Int).SetString(j.FundWei, 10)
	to := common.HexToAddress(j.New.Address)
	from := common.HexToAddress(j.Treasury.Address)
	rcpt, h, err := r.earlier(ctx, st, from)
	if err != nil {
		return "", err
	}
	if rcpt != nil {
		st.Block = uint64(rcpt.BlockNumber)
		return fmt.Sprintf("%s (sent by an earlier run) funded %s with %s ETH in block %d", h, to.Hex(), units.FormatEther(amount), st.Block), nil
	}
	onChain := func() (string, error) {
		t, err := r.funding(ctx, from, to)
		if err != nil || t == nil {
			return "", err
		}
		rc, err := r.settleTx(ctx, *t)
		if err != nil {
			return "", err
		}
		st.Block = uint64(rc.BlockNumber)
		if !slices.Contains(st.TxHashes, t.Hash.Hex()) {
			st.TxHashes = append(st.TxHashes, t.Hash.Hex())
		}
		return fmt.Sprintf("%s (sent by a run of this rotation, on this machine or another) funded %s with %s ETH in block %d",
			t.Hash.Hex(), to.Hex(), units.FormatEther(valueOf(t)), st.Block), nil
	}
	if out, err := onChain(); err != nil || out != "" {
		return out, err
	}
	a, err := r.Chain.Account(ctx, to)
	if err != nil {
		return "", err
	}
	if a.Balance.Sign() > 0 || a.NoncePending > 0 {
		return fmt.Sprintf("%s already holds %s ETH and has sent %d transaction(s): funded, nothing sent", to.Hex(), units.FormatEther(a.Balance), a.NoncePending), nil
	}
	if r.treasury == nil {
		t, err := r.OpenSigner(ctx, j.Treasury.Signer)
		if err != nil {
			return "", err
		}
		r.treasury = t
	}
	res, rc, err := r.flow(j, st, r.treasury).Fund(ctx, txflow.FundRequest{To: to, Amount: amount, Fees: r.Fees})
	if errors.Is(err, txflow.ErrAlreadyPaid) {
		// Another run of this rotation funded it at the same moment.
		if out, ferr := onChain(); ferr != nil || out != "" {
			return out, ferr
		}
	}
	if err != nil {
		return "", err
	}
	st.Block = uint64(rc.BlockNumber)
	return fmt.Sprintf("%s sent %s ETH to %s in block %d", res.TxHash, units.FormatEther(amount), to.Hex(), st.Block), nil
}

func valueOf(t *chain.SentTx) *big.Int {
	if t.Value == nil {
		return new(big.Int)
	}
	return t.Value
}

// drain empties the old wallet into the treasury, signed by the old key read by
// its exact version. An emergency drain pays raised fees and replaces the old
// account's lowest pending transaction, so neither a stuck relay nor an
// attacker's transaction holds it back. Like the funding it looks first at what
// the journal and the chain show: a drain into the treasury pending or mined
// within the window (from any machine) did it, an empty wallet needs none.
func (r *rotator) drain(ctx context.Context, j *Journal, st *Step) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	old := common.HexToAddress(j.Old.Address)
	treasury := common.HexToAddress(j.Treasury.Address)
	rcpt, h, err := r.earlier(ctx, st, old)
	if err != nil {
		return "", err
	}
	if rcpt != nil {
		if err := r.recordDrain(ctx, j, st, h, rcpt); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (sent by an earlier run) drained %s in block %d; %s wei left", h, old.Hex(), st.Block, j.Drain.ActualLeftoverWei), nil
	}
	onChain := func() (string, error) {
		t, err := r.drained(ctx, old, treasury)
		if err != nil || t == nil {
			return "", err
		}
		rc, err := r.settleTx(ctx, *t)
		if err != nil {
			return "", err
		}
		if !slices.Contains(st.TxHashes, t.Hash.Hex()) {
			st.TxHashes = append(st.TxHashes, t.Hash.Hex())
		}
		if err := r.recordDrain(ctx, j, st, t.Hash.Hex(), rc); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (sent by a run of this rotation, on this machine or another) drained %s in block %d; %s wei left",
			t.Hash.Hex(), old.Hex(), st.Block, j.Drain.ActualLeftoverWei), nil
	}
	if out, err := onChain(); err != nil || out != "" {
		return out, err
	}
	bal, err := r.Chain.BalanceAt(ctx, old, chain.Latest)
	if err != nil {
		return "", err
	}
	if bal.Sign() == 0 {
		j.Drain = &DrainResult{ExpectedLeftoverWei: "0", ActualLeftoverWei: "0"}
		return fmt.Sprintf("%s holds 0 wei: nothing to drain", old.Hex()), nil
	}
	k, _, err := r.Store.Read(ctx, j.Old.VersionID)
	if err != nil {
		return "", errs.Failedf("reading the old key (%s)", j.Old.Ref).Wrap(err)
	}
	if k.Address() != old {
		return "", errs.Failedf("%s holds the key of %s, not the old relayer %s", j.Old.Ref, k.Address().Hex(), old.Hex())
	}
	sg, err := signer.New(k)
	if err != nil {
		return "", err
	}
	d, err := r.flow(j, st, sg).Drain(ctx, r.drainRequest(j))
	if errors.Is(err, txflow.ErrAlreadyPaid) {
		// Another run of this rotation drained it at the same moment.
		if out, derr := onChain(); derr != nil || out != "" {
			return out, derr
		}
	}
	if errors.Is(err, chain.ErrNothingToSend) {
		j.Drain = &DrainResult{ExpectedLeftoverWei: bal.String(), ActualLeftoverWei: bal.String()}
		return fmt.Sprintf("%s holds %s wei, less than a transfer's own fee: left as dust", old.Hex(), bal), nil
	}
	if err != nil {
		return "", err
	}
	st.Block = uint64(d.Mined.BlockNumber)
	j.Drain = &DrainResult{TxHash: d.TxHash, ValueWei: d.ValueWei, FeeWei: d.Mined.TotalFee().String(),
		ExpectedLeftoverWei: d.ExpectedLeftoverWei, ActualLeftoverWei: d.ActualLeftoverWei}
	if d.Replaced != nil {
		n := d.Replaced.Tx.Nonce()
		j.Drain.ReplacedNonce, j.Drain.ReplacedTx = &n, d.Replaced.Tx.Hash().Hex()
	}
	value, _ := new(big.Int).SetString(d.ValueWei, 10)
	return fmt.Sprintf("%s moved %s ETH from %s to the treasury in block %d; %s wei left (expected %s)",
		d.TxHash, units.FormatEther(value), old.Hex(), st.Block, j.Drain.ActualLeftoverWei, j.Drain.ExpectedLeftoverWei), nil
}

// drainRequest is the rotation's drain: the old wallet's whole balance into the
// treasury, signed by the old key named by its version; an emergency outbids what
// the old account has pending.
func (r *rotator) drainRequest(j *Journal) txflow.DrainRequest {
	return txflow.DrainRequest{To: common.HexToAddress(j.Treasury.Address), Fees: r.Fees, Emergency: j.Mode == Emergency,
		Args: []txflow.Arg{{Name: "key", Value: j.Old.Ref}}}
}

// recordDrain writes what a drain an earlier run sent moved and left into the
// journal: the actual leftover (the expected one is not known any more).
func (r *rotator) recordDrain(ctx context.Context, j *Journal, st *Step, hash string, rc *chain.Receipt) error {
	st.Block = uint64(rc.BlockNumber)
	old := common.HexToAddress(j.Old.Address)
	left, err := r.Chain.BalanceAt(ctx, old, chain.BlockNumber(st.Block))
	if err != nil {
		return err
	}
	d := &DrainResult{TxHash: hash, FeeWei: rc.TotalFee().String(), ActualLeftoverWei: left.String()}
	if info, err := r.Chain.TransactionByHash(ctx, common.HexToHash(hash)); err == nil && info != nil {
		d.ValueWei = info.Tx.Value().String()
	}
	j.Drain = d
	return nil
}

// waitAdvice says how to follow h until it is mined.
func (r *rotator) waitAdvice(h common.Hash) string {
	if r.Next.Wait != nil {
		return r.Next.Wait(h)
	}
	return "follow " + h.Hex() + " until it is mined"
}

// change is the audited store change op of this rotation, recorded as "key rotate
// (op)" with the rotation's profile, chain and reason.
func (r *rotator) change(j *Journal, op string) keyops.Change {
	return keyops.Change{Store: r.Store, Audit: r.Audit, Command: "key rotate (" + op + ")", Profile: j.Profile, ChainID: j.ChainID,
		Reason: j.Reason, Warnf: r.IO.Warnf, Now: r.now}
}
