package cmdutil

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
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
	return nil
}

// SystemTarget is what such a command reads: a monitor.Reader with the profile's
// RPC URLs, contracts, API, database and backups, and the relayer under check.
type SystemTarget struct {
	Reader      *monitor.Reader
	Relayer     common.Address
	RelayerFrom string
	// FromSigner is true when the relayer is the current key of a signer reference:
	// the reader reads it alongside its first batch (Reader.RelayerIsSigner).
	FromSigner bool
}

// NewSystemTarget resolves the relayer — --address, else the current key of
// --signer or of the profile's signer, else the profile's relayer — and builds the
// reader. storeKey reads a signer reference's current key; nothing is read here.
func NewSystemTarget(cfg *config.Config, c *chain.Client, fl SystemFlags, storeKey func(ctx context.Context, ref string) (common.Address, error),
	hc *health.Client, now func() time.Time) (*SystemTarget, error) {
	urls, err := cfg.RPCURLs()
	if err != nil {
		return nil, err
	}
	r := &monitor.Reader{Chain: c, Endpoints: monitor.NewEndpoints(urls, c.ChainID()), Health: hc, Now: now}
	tg := &SystemTarget{Reader: r}
	signerRef := fl.Signer
	if signerRef == "" {
		signerRef = cfg.String("signer")
	}
	switch {
	case fl.Address != "":
		a, err := units.ParseAddress(fl.Address)
		if err != nil {
			return nil, err
		}
		tg.Relayer, tg.RelayerFrom = a, "--address"
	case signerRef != "":
		tg.FromSigner = true
		tg.RelayerFrom = "current key of " + signerRef
		if fl.Signer == "" {
			tg.RelayerFrom = "current key of the profile's signer " + signerRef
		}
	default:
		if s, ok := cfg.Address("relayer"); ok {
			a, err := units.ParseAddress(s)
			if err != nil {
				return nil, errs.Usagef("%s: %v", cfg.Origin("relayer"), err)
			}
			tg.Relayer, tg.RelayerFrom = a, "profile "+cfg.Origin("relayer")
		}
	}
	if tg.Relayer != (common.Address{}) {
		r.Relayers = []common.Address{tg.Relayer}
	}
	if signerRef != "" {
		ref := signerRef
		r.Signer = func(ctx context.Context) (common.Address, error) { return storeKey(ctx, ref) }
		r.SignerRef, r.RelayerIsSigner = ref, tg.FromSigner
	}
	if a, ok, err := OptionalAddress(cfg, "escrow"); err != nil {
		return nil, err
	} else if ok {
		r.Escrow = &a
	}
	if a, ok, err := OptionalAddress(cfg, "identity"); err != nil {
		return nil, err
	} else if ok {
		r.Identity = &a
	}
	r.APIURL = fl.APIURL
	if r.APIURL == "" {
		r.APIURL = cfg.String("api_url")
	}
	// The database and the backups are judged only when asked for: the built-in
	// database path is the API's default, not a promise that one is there.
	r.DBPath = fl.DB
	if s, ok := cfg.Lookup("database_path"); ok && r.DBPath == "" && s.Source != config.SrcBuiltin {
		r.DBPath = s.Value
	}
	backups := fl.Backups
	if backups == "" {
		backups = cfg.String("backup_location")
	}
	if backups != "" {
		loc, err := sqlitebackup.ParseLocation(backups)
		if err != nil {
			return nil, errs.Usagef("%s: %v", cfg.Origin("backup_location"), err)
		}
		r.Backups = &loc
	}
	return tg, nil
}
