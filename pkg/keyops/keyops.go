// Package keyops is the one place a key store is changed: a key generated into it,
// a version promoted, the previous version made current again, a pending version
// discarded. Every change, and every one refused or only tried in a dry run, gets
// its line in the audit log (the operator's user, the store, the version and its
// address — never a key), whether the `key` commands or a rotation asked for it.
package keyops

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// Change makes changes to one store and records each. Its zero Audit records
// nothing.
type Change struct {
	Store secrets.Store
	Audit *audit.Log
	// Command names the change in the audit log ("key promote", "key rotate
	// (promote)").
	Command string
	// Profile, ChainID and Reason go into each line when set.
	Profile string
	ChainID uint64
	Reason  string
	// DryRun records the change as tried and makes none.
	DryRun bool
	// Confirm, when set, is asked before the change; its error (not confirmed)
	// is recorded as a refusal and returned, nothing changed.
	Confirm func() error
	// Warnf says that a line could not be written to the audit log (the change
	// itself stands).
	Warnf func(format string, args ...any)
	Now   func() time.Time
}

// Generate writes a new key (crypto/rand) into the store as its pending version —
// current at once in an empty store — and with promote makes it current. It returns
// the version and the key's address; on a dry run nothing is generated and both are
// zero.
func (c Change) Generate(ctx context.Context, promote bool) (secrets.Version, common.Address, error) {
	if done, err := c.ask(audit.Entry{}); done || err != nil {
		return secrets.Version{}, common.Address{}, err
	}
	k, err := secrets.Generate()
	if err != nil {
		return secrets.Version{}, common.Address{}, errs.Failedf("generate a key").Wrap(err)
	}
	e := audit.Entry{Address: k.Address().Hex()}
	v, err := c.Store.WritePending(ctx, k)
	if err != nil {
		return v, k.Address(), c.record(e, err)
	}
	e.Version = v.ID
	if promote && !v.Has(secrets.StageCurrent) {
		if err := c.Store.Promote(ctx, v.ID); err != nil {
			return v, k.Address(), c.record(e, err)
		}
		v.Stages = []string{secrets.StageCurrent}
	}
	return v, k.Address(), c.record(e, nil)
}

// Claim generates a new key (crypto/rand) and writes it as the pending version of
// rotation rot, claiming the store for it (secrets.Claims.ClaimPending): of two
// rotations started at once, one claims and the other is refused (ErrClaimed,
// recorded as a refusal) with nothing written as pending. It returns the version
// and the key's address; on a dry run nothing is generated.
func (c Change) Claim(ctx context.Context, rot secrets.Rotation) (secrets.Version, common.Address, error) {
	if done, err := c.ask(audit.Entry{}); done || err != nil {
		return secrets.Version{}, common.Address{}, err
	}
	cl, err := secrets.ClaimsOf(c.Store)
	if err != nil {
		return secrets.Version{}, common.Address{}, c.record(audit.Entry{}, err)
	}
	k, err := secrets.Generate()
	if err != nil {
		return secrets.Version{}, common.Address{}, errs.Failedf("generate a key").Wrap(err)
	}
	e := audit.Entry{Address: k.Address().Hex()}
	v, err := cl.ClaimPending(ctx, k, rot)
	if err != nil {
		return v, k.Address(), c.record(e, err)
	}
	e.Version = v.ID
	if v.Address != k.Address() {
		// The rotation's claim held a version written by an earlier run.
		e.Address = v.Address.Hex()
	}
	return v, v.Address, c.record(e, nil)
}

// Release ends rotation id's claim on the store (it finished, or was undone).
func (c Change) Release(ctx context.Context, id string) error {
	return c.do(audit.Entry{}, func() error {
		cl, err := secrets.ClaimsOf(c.Store)
		if err != nil {
			return err
		}
		return cl.ReleaseClaim(ctx, id)
	})
}

// PromoteFrom makes version current provided from is the current one (the
// rotation's starting point): a store someone else changed meanwhile is refused.
func (c Change) PromoteFrom(ctx context.Context, version, addr, from string) error {
	return c.do(audit.Entry{Version: version, Address: addr}, func() error {
		cl, err := secrets.ClaimsOf(c.Store)
		if err != nil {
			return err
		}
		return cl.PromoteFrom(ctx, version, from)
	})
}

// Promote makes version current (the current one becomes previous); addr is its
// key's address, for the log ("" when not known).
func (c Change) Promote(ctx context.Context, version, addr string) error {
	return c.do(audit.Entry{Version: version, Address: addr}, func() error { return c.Store.Promote(ctx, version) })
}

// Rollback makes the previous version current again; version and addr name it for
// the log when known.
func (c Change) Rollback(ctx context.Context, version, addr string) error {
	return c.do(audit.Entry{Version: version, Address: addr}, func() error { return c.Store.Rollback(ctx) })
}

// DiscardPending drops the pending version (kept in the store's history where the
// store has one); version and addr name it for the log when known.
func (c Change) DiscardPending(ctx context.Context, version, addr string) error {
	return c.do(audit.Entry{Version: version, Address: addr}, func() error { return c.Store.DiscardPending(ctx) })
}

func (c Change) do(e audit.Entry, change func() error) error {
	if done, err := c.ask(e); done || err != nil {
		return err
	}
	return c.record(e, change())
}

// ask records a dry run (done) or asks for confirmation, recording a refusal.
func (c Change) ask(e audit.Entry) (done bool, err error) {
	if c.DryRun {
		e.Outcome = audit.DryRun
		return true, c.record(e, nil)
	}
	if c.Confirm != nil {
		if err := c.Confirm(); err != nil {
			return true, c.record(e, err)
		}
	}
	return false, nil
}

// record appends the change's line — done, refused by a rail, or failed with the
// error (redacted like every output) — and returns err.
func (c Change) record(e audit.Entry, err error) error {
	if c.Audit == nil {
		return err
	}
	e.Command, e.Store, e.Profile, e.ChainID, e.Reason = c.Command, c.Store.Ref().String(), c.Profile, c.ChainID, c.Reason
	if c.Now != nil {
		e.Time = c.Now().UTC()
	}
	if e.Outcome == "" {
		switch {
		case err == nil:
			e.Outcome = audit.Done
		case errs.KindOf(err) == errs.Refused:
			e.Outcome = audit.Refused
		default:
			e.Outcome = audit.Failed
		}
	}
	if err != nil {
		e.Error = err.Error()
	}
	if aerr := c.Audit.Append(e); aerr != nil && c.Warnf != nil {
		c.Warnf("the key change could not be recorded in the audit log: %v", aerr)
	}
	return err
}
