package cmdutil

import (
	"context"

	"github.com/vrwx/vrwxctl/pkg/doctor"
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
	store, err := secrets.OpenRef(ctx, r.Base(), f.SecretsOptions())
	if err != nil {
		return nil
	}
	vs, err := store.Versions(ctx)
	if err != nil {
		f.IO.Debugf("could not list the versions of %s to tell whether %s is retired: %v", r.Base().String(), acct.Address.Hex(), err)
		return nil
	}
	var out *doctor.Retired
	for _, v := range vs {
		switch {
		case v.Has(secrets.StageCurrent) && v.Address == acct.Address:
			return nil
		case v.Has(secrets.StageCurrent):
			if out == nil {
				out = &doctor.Retired{}
			}
			out.Current = v.Address
		case v.Address == acct.Address && !v.Has(secrets.StagePending):
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
