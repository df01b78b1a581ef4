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
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// generate writes a new key into the store as pending. Run again, it finds the
// version it wrote: recorded in the journal, or — when the process died between
// the write and the journal — as the store's pending version, new and unfunded.
func (r *rotator) generate(ctx context.Context, j *Journal) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
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
		return fmt.Sprintf("new key %s is version %s (%s)", j.New.Address, v.ID, strings.Join(v.Stages, ", ")), nil
	}
	pv, ok, err := r.pendingVersion(ctx)
	if err != nil {
		return "", err
	}
	if ok && j.Discard != nil && pv.ID == j.Discard.VersionID {
		if err := r.keyOp(j, "discard-pending", pv.ID, pv.Address.Hex(), r.Store.DiscardPending(ctx)); err != nil {
			return "", err
		}
		r.IO.Infof("  discarded the abandoned pending version %s (%s)", pv.ID, pv.Address.Hex())
		ok = false
	}
	if ok {
		fresh, why, err := r.fresh(ctx, pv.Address, common.HexToAddress(j.Old.Address))
		if err != nil {
			return "", err
		}
		if !fresh {
			return "", errs.Refusedf("%s has a pending version %s (%s) this rotation did not record, and it is not a fresh key (%s); it will not be overwritten",
				r.base.String(), pv.ID, pv.Address.Hex(), why).WithFix(r.Advice.Rollback)
		}
		j.New = KeyRef{VersionID: pv.ID, Address: pv.Address.Hex(), Ref: r.base.AtVersion(pv.ID).String()}
		return fmt.Sprintf("found the key an interrupted run wrote: %s, version %s (pending)", j.New.Address, pv.ID), nil
	}
	k, err := secrets.Generate()
	if err != nil {
		return "", err
	}
	v, err := r.Store.WritePending(ctx, k)
	if err := r.keyOp(j, "generate", v.ID, k.Address().Hex(), err); err != nil {
		return "", err
	}
	j.New = KeyRef{VersionID: v.ID, Address: k.Address().Hex(), Ref: r.base.AtVersion(v.ID).String()}
	return fmt.Sprintf("new key %s written as version %s (%s)", j.New.Address, v.ID, strings.Join(v.Stages, ", ")), nil
}

// promote makes the new version current. A version that is current already
// (a resumed run, or a promote by hand) is left as it is.
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
	if err := r.keyOp(j, "promote", j.New.VersionID, j.New.Address, r.Store.Promote(ctx, j.New.VersionID)); err != nil {
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
func (r *rotator) deploy(ctx context.Context, j *Journal) (string, error) {
	if len(j.DeployCmd) == 0 {
		r.IO.Warnf("restart the API now so it loads the new key (for example `%s`); waiting for %s to report %s",
			r.Advice.Restart, health.URL(displayURL(r.APIURL)), j.New.Address)
		return "no deploy command: the API is to be restarted by hand", nil
	}
	if r.Hook == nil {
		return "", errs.Usagef("a deploy command was given but nothing can run it")
	}
	ctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	if err := r.Hook(ctx, j.DeployCmd, r.deployEnv(ctx, j), r.IO.ErrOut); err != nil {
		return "", errs.Failedf("the deploy command failed; the new key is current in the store but the API may still run the old one").Wrap(err).
			WithFix("fix what made `" + QuoteCommand(j.DeployCmd) + "` fail (its output is above)")
	}
	return "ran `" + QuoteCommand(j.DeployCmd) + "` (exit 0)", nil
}

// verify waits until /health reports the new address. An API that is down,
// restarting or still on the old key is waited for; one on another chain is not.
func (r *rotator) verify(ctx context.Context, j *Journal) (string, error) {
	want := common.HexToAddress(j.New.Address)
	ctx, cancel := context.WithTimeout(ctx, r.waitTimeout())
	defer cancel()
	start := time.Now()
	last := ""
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
			r.IO.Infof("  %s; waiting…", seen)
			last = seen
		}
		select {
		case <-ctx.Done():
			e := errs.Timeoutf("/health did not report the new relayer %s within %s (last: %s)", want.Hex(), r.waitTimeout(), last)
			fix := "restart the API so it reads the new key"
			if len(j.DeployCmd) > 0 {
				fix += " (`" + QuoteCommand(j.DeployCmd) + "` ran; check that it restarts the API that " + displayURL(r.APIURL) + " serves)"
			} else if r.Advice.Restart != "" {
				fix += " (`" + r.Advice.Restart + "`)"
			}
			if r.Advice.Health != nil {
				fix += ", and check with `" + r.Advice.Health(want) + "`"
			}
			return "", e.WithFix(fix)
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
	announced := false
	for {
		b := r.Chain.NewBatch()
		latest := b.Nonce(old, chain.Latest)
		pending := b.Nonce(old, chain.Pending)
		err := b.Do(ctx)
		if err == nil {
			err = errors.Join(latest.Err(), pending.Err())
		}
		if err == nil && pending.Value <= latest.Value {
			return fmt.Sprintf("%s has no pending transactions (nonce %d)", old.Hex(), latest.Value), nil
		}
		if err == nil && !announced {
			r.IO.Infof("  %s has %d pending transaction(s) (nonces %d..%d); waiting for them to be mined…", old.Hex(), pending.Value-latest.Value, latest.Value, pending.Value-1)
			announced = true
		}
		select {
		case <-ctx.Done():
			e := errs.Timeoutf("%s still has pending transactions after %s", old.Hex(), r.waitTimeout())
			if err != nil {
				e = errs.Timeoutf("the nonces of %s could not be read within %s", old.Hex(), r.waitTimeout()).Wrap(err)
			} else if r.Advice.Stuck != nil {
				e = e.WithFix(r.Advice.Stuck(j.Old.Ref))
			}
			return "", e
		case <-time.After(min(r.poll(), time.Second)):
		}
	}
}

// flow is the send path for one step's transaction: confirmed already (the plan
// was), journaling the hash before the broadcast.
func (r *rotator) flow(j *Journal, st *Step, s txflow.Signer) *txflow.Flow {
	return &txflow.Flow{
		Chain: r.Chain, Signer: s, IO: r.IO, Audit: r.Audit, LockDir: r.LockDir, Profile: r.Profile,
		Command: "key rotate", Reason: r.Reason, Yes: true, Next: r.Next,
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
			cancel()
			if err != nil {
				return nil, "", errs.Timeoutf("%s, sent by an earlier run, is still pending", h.Hex()).
					WithFix("do NOT send again; " + r.waitAdvice(h))
			}
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

// fund sends the new address its funding from the treasury, once: a transaction
// the journal holds that was mined (or is pending) did it, and so did anything
// that already put the amount there.
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
	bal, err := r.Chain.BalanceAt(ctx, to, chain.Latest)
	if err != nil {
		return "", err
	}
	if bal.Cmp(amount) >= 0 {
		return fmt.Sprintf("%s already holds %s ETH (at least %s ETH): nothing sent", to.Hex(), units.FormatEther(bal), units.FormatEther(amount)), nil
	}
	if r.treasury == nil {
		t, err := r.OpenSigner(ctx, j.Treasury.Signer)
		if err != nil {
			return "", err
		}
		r.treasury = t
	}
	res, rc, err := r.flow(j, st, r.treasury).Execute(ctx, chain.TxRequest{To: to, Value: amount, Fees: r.Fees},
		txflow.Call{Action: "fund", Args: []txflow.Arg{{Name: "to", Value: to.Hex()}, {Name: "amount", Value: units.FormatEther(amount) + " ETH"}}})
	if err != nil {
		return "", err
	}
	st.Block = uint64(rc.BlockNumber)
	return fmt.Sprintf("%s sent %s ETH to %s in block %d", res.TxHash, units.FormatEther(amount), to.Hex(), st.Block), nil
}

// drain empties the old wallet into the treasury, signed by the old key read by
// its exact version. An emergency drain pays raised fees and replaces the old
// account's lowest pending transaction, so neither a stuck relay nor an
// attacker's transaction holds it back.
func (r *rotator) drain(ctx context.Context, j *Journal, st *Step) (string, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	old := common.HexToAddress(j.Old.Address)
	to := common.HexToAddress(j.Treasury.Address)
	rcpt, h, err := r.earlier(ctx, st, old)
	if err != nil {
		return "", err
	}
	if rcpt != nil {
		if err := r.recordDrain(ctx, j, st, h, rcpt, nil); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (sent by an earlier run) drained %s in block %d; %s wei left", h, old.Hex(), st.Block, j.Drain.ActualLeftoverWei), nil
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
	bal, err := r.Chain.BalanceAt(ctx, old, chain.Latest)
	if err != nil {
		return "", err
	}
	if bal.Sign() == 0 {
		j.Drain = &DrainResult{ExpectedLeftoverWei: "0", ActualLeftoverWei: "0"}
		return fmt.Sprintf("%s holds 0 wei: nothing to drain", old.Hex()), nil
	}
	req := chain.TxRequest{To: to, Fees: r.Fees, Sweep: true, Keep: new(big.Int)}
	var replaced *chain.TxInfo
	if j.Mode == Emergency {
		if replaced, err = r.emergencyFees(ctx, old, &req); err != nil {
			return "", err
		}
	}
	call := txflow.Call{Action: "drain", Args: []txflow.Arg{{Name: "to", Value: to.Hex()}, {Name: "keep", Value: "0 ETH"}, {Name: "key", Value: j.Old.Ref}}}
	res, rc, err := r.flow(j, st, sg).Execute(ctx, req, call)
	if err != nil {
		if errs.KindOf(err) == errs.Refused && strings.Contains(err.Error(), "nothing to send") {
			j.Drain = &DrainResult{ExpectedLeftoverWei: bal.String(), ActualLeftoverWei: bal.String()}
			return fmt.Sprintf("%s holds %s wei, less than a transfer's own fee: left as dust", old.Hex(), bal), nil
		}
		return "", err
	}
	if err := r.recordDrain(ctx, j, st, res.TxHash, rc, res); err != nil {
		return "", err
	}
	if replaced != nil {
		n := replaced.Tx.Nonce()
		j.Drain.ReplacedNonce, j.Drain.ReplacedTx = &n, replaced.Tx.Hash().Hex()
	}
	value, _ := new(big.Int).SetString(res.ValueWei, 10)
	return fmt.Sprintf("%s moved %s ETH from %s to the treasury in block %d; %s wei left (expected %s)",
		res.TxHash, units.FormatEther(value), old.Hex(), st.Block, j.Drain.ActualLeftoverWei, j.Drain.ExpectedLeftoverWei), nil
}

// recordDrain writes what the drain moved and left into the journal. res is the
// send's result, nil when an earlier run sent the drain (the expected leftover is
// then not known, only the actual one).
func (r *rotator) recordDrain(ctx context.Context, j *Journal, st *Step, hash string, rc *chain.Receipt, res *txflow.Result) error {
	st.Block = uint64(rc.BlockNumber)
	old := common.HexToAddress(j.Old.Address)
	left, err := r.Chain.BalanceAt(ctx, old, chain.BlockNumber(st.Block))
	if err != nil {
		return err
	}
	d := &DrainResult{TxHash: hash, FeeWei: rc.TotalFee().String(), ActualLeftoverWei: left.String()}
	if res != nil {
		d.ValueWei = res.ValueWei
		// A sweep leaves 0 on an L1 chain; on an OP-stack chain it reserved the L1
		// fee's upper bound and the chain charged the fee it quoted (fixed at
		// inclusion), so the difference stays behind.
		expected := new(big.Int)
		if res.L1FeeBoundWei != "" {
			bound, _ := new(big.Int).SetString(res.L1FeeBoundWei, 10)
			quoted, _ := new(big.Int).SetString(res.L1FeeWei, 10)
			expected.Add(expected, bound).Sub(expected, quoted)
		}
		d.ExpectedLeftoverWei = expected.String()
	} else if info, err := r.Chain.TransactionByHash(ctx, common.HexToHash(hash)); err == nil && info != nil {
		d.ValueWei = info.Tx.Value().String()
	}
	j.Drain = d
	return nil
}

// emergencyFees raises the drain's fees above the market and, when the old
// account has transactions pending, pins the drain to the lowest pending nonce
// with fees that replace what is pending there.
//
// Why replace rather than take the next nonce: a drain queued behind a pending
// transaction is mined only after it, and that transaction may be stuck (fee cap
// below the base fee) or be the attacker's own transfer out. Taking its nonce with
// at least 12.5% more on both fees (nodes require 10%) makes the node drop it for
// the drain; transactions at later nonces can no longer pay once the wallet is
// empty. The profile's fee caps are lifted: beating an attacker to the balance is
// worth more than the fee.
func (r *rotator) emergencyFees(ctx context.Context, from common.Address, req *chain.TxRequest) (*chain.TxInfo, error) {
	b := r.Chain.NewBatch()
	head := b.Header(chain.Latest)
	tip := b.MaxPriorityFee()
	latest := b.Nonce(from, chain.Latest)
	pending := b.Nonce(from, chain.Pending)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := errors.Join(head.Err(), latest.Err(), pending.Err()); err != nil {
		return nil, errs.Failedf("reading the fees and nonces for the emergency drain of %s", from.Hex()).Wrap(err)
	}
	if head.Value == nil || head.Value.BaseFee == nil {
		return nil, errs.Failedf("the chain reports no base fee: vrwxctl sends EIP-1559 transactions only")
	}
	base := head.Value.BaseFee.ToInt()
	suggested := big.NewInt(1_000_000_000)
	if tip.Err() == nil {
		suggested = tip.Value.ToInt()
	}
	// Twice the usual fee cap (2 × base fee + tip); a sweep pays its whole cap per
	// gas, so all of it above the base fee goes to the block producer as priority.
	target := new(big.Int).Mul(new(big.Int).Add(new(big.Int).Mul(base, big.NewInt(2)), suggested), big.NewInt(2))
	req.Fees.MaxFeeCap, req.Fees.MaxPriorityCap = nil, nil
	var replaced *chain.TxInfo
	if pending.Value > latest.Value {
		n := uint64(latest.Value)
		req.Nonce = &n
		info, ok, err := r.Chain.PendingByNonce(ctx, from, n)
		switch {
		case err != nil:
			r.IO.Warnf("could not read the pending transaction at nonce %d of %s (%v); the drain replaces it with fees raised blind", n, from.Hex(), err)
		case !ok:
			r.IO.Warnf("%s has %d pending transaction(s) but the node does not show its pool; the drain takes nonce %d with fees raised blind", from.Hex(), pending.Value-latest.Value, n)
		default:
			replaced = info
			for _, fee := range []*big.Int{info.Tx.GasFeeCap(), info.Tx.GasTipCap()} {
				if m := bump(fee); m.Cmp(target) > 0 {
					target = m
				}
			}
			r.IO.Warnf("%s has %d pending transaction(s); the drain replaces %s at nonce %d (fee cap %s gwei) with a fee cap of %s gwei",
				from.Hex(), pending.Value-latest.Value, info.Tx.Hash().Hex(), n, units.FormatGwei(info.Tx.GasFeeCap()), units.FormatGwei(target))
		}
	}
	req.MinMaxFee = target
	return replaced, nil
}

// bump is fee raised by 12.5%, rounded up: above the 10% a node requires of a
// replacement.
func bump(fee *big.Int) *big.Int {
	v := new(big.Int).Mul(fee, big.NewInt(1125))
	v.Add(v, big.NewInt(999))
	return v.Div(v, big.NewInt(1000))
}

// waitAdvice says how to follow h until it is mined.
func (r *rotator) waitAdvice(h common.Hash) string {
	if r.Next.Wait != nil {
		return r.Next.Wait(h)
	}
	return "follow " + h.Hex() + " until it is mined"
}

// keyOp records a change the rotation made to the store — a key generated, promoted,
// rolled back or discarded — in the audit log, like the key commands do: the store,
// the version and its address (never the key), done or failed. It returns err.
func (r *rotator) keyOp(j *Journal, op, version, addr string, err error) error {
	if r.Audit == nil {
		return err
	}
	e := audit.Entry{Time: r.now().UTC(), Profile: j.Profile, ChainID: j.ChainID, Command: "key rotate (" + op + ")",
		Store: j.Store, Version: version, Address: addr, Reason: j.Reason, Outcome: audit.Done}
	if err != nil {
		e.Outcome, e.Error = audit.Failed, err.Error()
	}
	if aerr := r.Audit.Append(e); aerr != nil {
		r.IO.Warnf("the key change could not be recorded in the audit log: %v", aerr)
	}
	return err
}
