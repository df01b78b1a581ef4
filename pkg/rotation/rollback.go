package rotation

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// rollback undoes a rotation that has not started draining the old wallet: the
// previous version (the old key) becomes current again, or — before the promote —
// the new pending version is discarded; the deployment command, when there is
// one, restarts the API onto the old key. Once the drain has started the old key
// may hold nothing, so a rollback is refused.
func (r *rotator) rollback(ctx context.Context, j *Journal) (*Journal, error) {
	if d := j.Step(StepDrain); d != nil && d.Status != StatusPending {
		return nil, errs.Refusedf("the rotation of %s has started draining the old wallet %s (step %d/%d): making that key current again would run the relayer on an emptied wallet",
			r.base.String(), j.Old.Address, j.Index(StepDrain), len(j.Steps)).
			WithFix("finish the rotation instead: " + r.Advice.Resume)
	}
	if len(r.DeployCmd) > 0 {
		j.DeployCmd = r.DeployCmd
	}
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	cur, err := r.currentVersion(ctx)
	if err != nil {
		return nil, err
	}
	isNew := j.New.Address != "" && strings.EqualFold(cur.Address.Hex(), j.New.Address)
	isOld := strings.EqualFold(cur.Address.Hex(), j.Old.Address)
	if !isNew && !isOld {
		return nil, errs.Failedf("the current key of %s is %s, neither the old %s nor the new %s: someone else changed the store; nothing was changed",
			r.base.String(), cur.Address.Hex(), j.Old.Address, j.New.Address)
	}
	var pending *secrets.Version
	if isOld && j.New.VersionID != "" {
		pv, ok, err := r.pendingVersion(ctx)
		if err != nil {
			return nil, err
		}
		if ok && pv.ID == j.New.VersionID {
			pending = &pv
		}
	}

	s := r.IO.ErrStyles()
	fmt.Fprintln(r.IO.ErrOut, s.Bold.Render("Roll back the rotation of "+r.base.String()))
	switch {
	case isNew:
		fmt.Fprintf(r.IO.ErrOut, "  the old key %s (version %s) becomes current again; the new key %s becomes previous\n", j.Old.Address, j.Old.VersionID, j.New.Address)
	case pending != nil:
		fmt.Fprintf(r.IO.ErrOut, "  the old key %s stays current; the new pending version %s (%s) is discarded (kept in the store's history)\n", j.Old.Address, pending.ID, j.New.Address)
	default:
		fmt.Fprintf(r.IO.ErrOut, "  the old key %s is current already; nothing in the store changes\n", j.Old.Address)
	}
	if len(j.DeployCmd) > 0 {
		fmt.Fprintf(r.IO.ErrOut, "  then `%s` restarts the API onto the old key\n", QuoteCommand(j.DeployCmd))
	}
	if r.DryRun {
		r.IO.Successf("dry run: nothing was changed")
		return j, nil
	}
	if err := r.confirm("Roll back?"); err != nil {
		return nil, err
	}
	switch {
	case isNew:
		if err := r.change(j, "rollback").Rollback(ctx, j.Old.VersionID, j.Old.Address); err != nil {
			return nil, err
		}
		now, err := r.currentVersion(ctx)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(now.Address.Hex(), j.Old.Address) {
			return nil, errs.Failedf("after the rollback the current key of %s is %s, not the old %s", r.base.String(), now.Address.Hex(), j.Old.Address)
		}
	case pending != nil:
		if err := r.change(j, "discard-pending").DiscardPending(ctx, pending.ID, j.New.Address); err != nil {
			return nil, err
		}
	}
	// Undone: the rotation's claim on the store goes, and a new one may start.
	if err := r.change(j, "release").Release(ctx, j.ID); err != nil {
		return nil, errs.Failedf("%s is back on its old key, but the store's claim of rotation %s could not be released", r.base.String(), j.ID).Wrap(err).
			WithFix("run the rollback again to release it")
	}
	now := r.now()
	j.Status, j.FinishedAt = StatusRolledBack, &now
	j.Next = nil
	if r.Advice.Health != nil {
		j.Next = append(j.Next, "check that the API relays from the old key again: "+r.Advice.Health(common.HexToAddress(j.Old.Address)))
	}
	if j.New.Address != "" {
		if bal, err := r.Chain.BalanceAt(ctx, common.HexToAddress(j.New.Address), chain.Latest); err == nil && bal.Sign() > 0 && r.Advice.Drain != nil {
			j.Next = append(j.Next, fmt.Sprintf("the new wallet %s holds %s ETH: once the API is back on the old key, return it to the treasury: %s",
				j.New.Address, units.FormatEther(bal), r.Advice.Drain(j.New.Ref)))
		}
	}
	if err := j.Save(now); err != nil {
		return nil, err
	}
	r.IO.Successf("%s is back on its old key %s", r.base.String(), j.Old.Address)
	if len(j.DeployCmd) > 0 {
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), r.waitTimeout())
		defer hcancel()
		if err := r.Hook(hctx, j.DeployCmd, r.deployEnv(hctx, j), r.IO.ErrOut); err != nil {
			return j, errs.Failedf("the store is rolled back, but the deploy command failed: the API may still run the new key").Wrap(err).
				WithFix("restart the API by hand so it loads the old key")
		}
	} else if r.Advice.Restart != "" {
		j.Next = append([]string{"restart the API so it loads the old key: " + r.Advice.Restart}, j.Next...)
	}
	for _, n := range j.Next {
		r.IO.Infof("  next: %s", n)
	}
	return j, nil
}

// dryRun signs and simulates the transactions the rotation would send — the
// funding and the drain — and sends nothing, writes nothing to the store and no
// journal. Before step 1 there is no new key, so the funding is simulated to a
// throwaway address (its key is discarded) unless a pending leftover would be
// taken over.
func (r *rotator) dryRun(ctx context.Context, j *Journal) (*Journal, error) {
	ctx, cancel := r.stepCtx(ctx)
	defer cancel()
	j.Status = StatusDryRun
	j.Path = ""
	to := common.HexToAddress(j.New.Address)
	if j.New.Address == "" {
		k, err := secrets.Generate()
		if err != nil {
			return nil, err
		}
		to = k.Address()
		r.IO.Infof("dry run: the funding is simulated to %s, a throwaway address standing in for the key step 1 generates (its key is discarded)", to.Hex())
	}
	dry := func(s txflow.Signer) *txflow.Flow {
		return &txflow.Flow{Chain: r.Chain, Signer: s, IO: r.IO, Audit: r.Audit, Profile: r.Profile, Command: "key rotate", Reason: r.Reason, DryRun: true, Next: r.Next}
	}
	amount, _ := new(big.Int).SetString(j.FundWei, 10)
	fund, _, err := dry(r.treasury).Fund(ctx, txflow.FundRequest{To: to, Amount: amount, Fees: r.Fees})
	if err != nil && j.Mode != Emergency {
		return nil, err
	}
	if fund != nil {
		j.Transactions = append(j.Transactions, fund)
	}
	k, _, err := r.Store.Read(ctx, j.Old.VersionID)
	if err != nil {
		return nil, err
	}
	sg, err := signer.New(k)
	if err != nil {
		return nil, err
	}
	drain, err := dry(sg).Drain(ctx, r.drainRequest(j))
	switch {
	case errors.Is(err, chain.ErrNothingToSend):
		r.IO.Infof("dry run: the old wallet %s holds too little to drain now", j.Old.Address)
	case err != nil:
		return nil, err
	default:
		j.Transactions = append(j.Transactions, drain.Result)
	}
	r.IO.Successf("dry run: the plan above would run; the store, the chain and the journal were not changed")
	return j, nil
}
