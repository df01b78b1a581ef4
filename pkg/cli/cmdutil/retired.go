package cmdutil

import (
	"context"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// RetiredRelayer says whether acct's address is a retired version of the relayer's
// key store: the store of the signer reference the account came from, else the
// profile's signer. A rotation leaves the old key there as its previous version;
// such an address is reported as retired rather than suggested for funding. A
// store that cannot be read (or is not versioned) gives nil: the account is then
// judged as any other.
func (f *Factory) RetiredRelayer(ctx context.Context, acct Account) *doctor.Retired {
	ref := acct.SignerRef
	if ref == "" {
		cfg, err := f.Config()
		if err != nil {
			return nil
		}
		s, ok := cfg.Lookup("signer")
		if !ok {
			return nil
		}
		ref = s.Value
	}
	r, err := secrets.ParseRef(ref)
	if err != nil || !r.Writable() {
		return nil
	}
	if acct.SignerRef != "" && (!r.Versioned() || r.Stage == secrets.StageCurrent) {
		// The account is the store's current key: nothing to list.
		return nil
	}
	return f.retiredIn(ctx, r, acct.Address)
}

// retiredIn says whether addr is a retired (neither current nor pending) version of
// the store r names, nil when it is not or the store cannot be listed.
func (f *Factory) retiredIn(ctx context.Context, r secrets.Ref, addr common.Address) *doctor.Retired {
	store, err := secrets.OpenRef(ctx, r.Base(), f.SecretsOptions())
	if err != nil {
		return nil
	}
	vs, err := store.Versions(ctx)
	if err != nil {
		f.IO.Debugf("could not list the versions of %s to tell whether %s is retired: %v", r.Base().String(), addr.Hex(), err)
		return nil
	}
	var out *doctor.Retired
	for _, v := range vs {
		switch {
		case v.Has(secrets.StageCurrent) && v.Address == addr:
			return nil
		case v.Has(secrets.StageCurrent):
			if out == nil {
				out = &doctor.Retired{}
			}
			out.Current = v.Address
		case v.Address == addr && !v.Has(secrets.StagePending):
			if out == nil {
				out = &doctor.Retired{}
			}
			out.Store, out.Version, out.Ref = r.Base().String(), v.ID, r.Base().AtVersion(v.ID).String()
		}
	}
	if out == nil || out.Version == "" {
		return nil
	}
	return out
}

// RotatedOut finds the key store that replaced addr — a relayer a profile names by
// address, which no rotation updates: a store in which addr is a retired version,
// or, when the API's relayer is known (api), a store whose current key is what the
// API relays from. The stores looked at are the ones this host's audit log recorded
// key changes of (key generate, promote, rotate), newest first; the store itself
// says which key is current. nil when none does.
func (f *Factory) RotatedOut(ctx context.Context, addr common.Address, api *common.Address) *doctor.Retired {
	entries, err := audit.Open(audit.DefaultPath(f.StateDir())).Read()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Store == "" || seen[e.Store] || !strings.HasPrefix(e.Command, "key ") {
			continue
		}
		seen[e.Store] = true
		r, err := secrets.ParseRef(e.Store)
		if err != nil || !r.Writable() {
			continue
		}
		if ret := f.retiredIn(ctx, r, addr); ret != nil && ret.Current != (common.Address{}) {
			return ret
		}
		if api == nil || *api == addr {
			continue
		}
		if cur, err := f.SignerAddress(ctx, r.Base().String()); err == nil && cur == *api {
			return &doctor.Retired{Store: r.Base().String(), Current: cur}
		}
	}
	return nil
}

// Followed is a rotation status or doctor follows: the store that replaced the
// profile's relayer address Old.
type Followed struct {
	Retired *doctor.Retired
	Old     common.Address
}

// FollowRotation makes tg check the current key of the store that replaced the
// profile's relayer address (ret, from RotatedOut) and says so where the relayer
// came from; the returned Followed is what the checks report as out of date.
func FollowRotation(tg *monitor.Target, ret *doctor.Retired, storeKey func(ctx context.Context, ref string) (common.Address, error)) *Followed {
	f := &Followed{Retired: ret, Old: tg.Relayer}
	tg.FollowStore(ret.Store, storeKey)
	tg.RelayerFrom = fmt.Sprintf("current key of %s, which replaced the profile's relayer %s", ret.Store, f.Old.Hex())
	return f
}
