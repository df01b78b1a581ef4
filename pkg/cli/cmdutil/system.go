package cmdutil

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// SystemFlags are the flags of the commands that read the whole system (status,
// doctor relay); empty means "from the profile".
type SystemFlags struct {
	Address, Signer, APIURL, DB, Backups string
	// Replica is a litestream replica to judge (default the profile's replica).
	Replica string
}

// Validate checks the flags' forms before anything is read: one account (address or
// signer), an address, a signer reference, the API's URL and the backups' location
// as given.
func (f SystemFlags) Validate() error {
	if err := OneAccount(f.Address, f.Signer); err != nil {
		return err
	}
	if f.Address != "" {
		if err := units.CheckAddress(f.Address); err != nil {
			return errs.Usagef("--address: %v", err)
		}
	}
	if f.Signer != "" {
		// A reference that cannot name a key is bad input (exit 2), as for every
		// command that signs, not a store that failed to answer.
		if _, err := secrets.ParseRef(f.Signer); err != nil {
			return err
		}
	}
	if f.APIURL != "" {
		if err := config.CheckURL(f.APIURL); err != nil {
			return errs.Usagef("--api-url: %v", err)
		}
	}
	if f.Backups != "" {
		if _, err := sqlitebackup.ParseLocation(f.Backups); err != nil {
			return errs.Usagef("--backups: %v", err)
		}
	}
	if f.Replica != "" {
		if _, err := sqlitebackup.ParseLocation(f.Replica); err != nil {
			return errs.Usagef("--replica: %v", err)
		}
	}
	return nil
}

// Sources turns the flags into what monitor.ForProfile reads: an address given
// is the relayer ("--address"), else the current key of --signer or of the
// profile's signer, read through storeKey.
func (f SystemFlags) Sources(storeKey func(ctx context.Context, ref string) (common.Address, error), hc *health.Client, now func() time.Time) (monitor.Sources, error) {
	s := monitor.Sources{Signer: f.Signer, StoreKey: storeKey, APIURL: f.APIURL, DB: f.DB, Backups: f.Backups, Replica: f.Replica, Health: hc, Now: now}
	if f.Address != "" {
		a, err := units.ParseAddress(f.Address)
		if err != nil {
			return s, err
		}
		s.Relayers, s.RelayersFrom = []common.Address{a}, "--address"
	}
	return s, nil
}
