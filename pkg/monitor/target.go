package monitor

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// Sources say what to read beyond what the profile names; an empty field falls
// back to the profile.
type Sources struct {
	// Relayers are the addresses given by hand; RelayersFrom says how (a flag).
	Relayers     []common.Address
	RelayersFrom string
	// Signer is a signer reference whose current key is the relayer when no
	// address is given ("": the profile's signer).
	Signer string
	// StoreKey, when set, reads the signer's current key with every Read (the
	// store's reading, and the relayer when it comes from the signer).
	StoreKey func(ctx context.Context, ref string) (common.Address, error)
	APIURL   string
	// DB is the API's database ("": the profile's database_path when one was
	// configured — the built-in default is not a promise that one is there).
	DB string
	// Backups is where the database's backups go ("": backup_location).
	Backups string
	// Replica is a litestream replica of the database ("": the profile's replica,
	// or a backup_location in litestream's file:// form; an s3:// backup location
	// holding a replica is recognised when read).
	Replica string
	Health  *health.Client
	Now     func() time.Time
}

// Target is the system to read: a Reader over the profile's RPC URLs, contracts,
// API, database and backups, and where its relayer came from.
type Target struct {
	Reader *Reader
	// SignerRef is the signer reference in use (Sources.Signer, else the
	// profile's); "" when there is none.
	SignerRef string
	// FromSigner is true when no address was given and the relayer is the
	// signer's current key (Reader.RelayerIsSigner once StoreKey is set).
	FromSigner bool
	// Relayer is the first address watched, when one is known before reading.
	Relayer     common.Address
	RelayerFrom string
	// FromProfileAddress is true when the relayer is the profile's relayer address
	// (a setting or the deployment file), which no rotation updates.
	FromProfileAddress bool
}

// FollowStore makes the relayer under check the current key of store — read
// through storeKey with every Read, as for a signer — instead of the address it
// was: after a rotation the relayer in service is the store's current key.
func (tg *Target) FollowStore(store string, storeKey func(ctx context.Context, ref string) (common.Address, error)) {
	tg.Relayer, tg.FromSigner, tg.FromProfileAddress, tg.SignerRef = common.Address{}, true, false, store
	r := tg.Reader
	r.Relayers = nil
	r.Signer = func(ctx context.Context) (common.Address, error) { return storeKey(ctx, store) }
	r.SignerRef, r.RelayerIsSigner = store, true
}

// ForProfile builds what status, doctor and the exporter read, one way for all of
// them: the relayers are the addresses given, else the current key of the signer
// (given or the profile's), else the profile's relayer; the escrow and identity
// registry, the API, the database and the backups are the profile's unless given.
// Nothing is read here. A caller leaves out what it does not judge (the exporter
// publishes no backup metric, so it lists no backups).
func ForProfile(cfg *config.Config, c *chain.Client, s Sources) (*Target, error) {
	urls, err := cfg.RPCURLs()
	if err != nil {
		return nil, err
	}
	r := &Reader{Chain: c, Endpoints: NewEndpoints(urls, c.ChainID()), Health: s.Health, Now: s.Now}
	tg := &Target{Reader: r, SignerRef: s.Signer}
	if tg.SignerRef == "" {
		tg.SignerRef = cfg.String("signer")
	}
	switch {
	case len(s.Relayers) > 0:
		r.Relayers = append([]common.Address(nil), s.Relayers...)
		tg.RelayerFrom = s.RelayersFrom
	case tg.SignerRef != "":
		tg.FromSigner = true
		tg.RelayerFrom = "current key of " + tg.SignerRef
		if s.Signer == "" {
			tg.RelayerFrom = "current key of the profile's signer " + tg.SignerRef
		}
	default:
		a, ok, err := cfg.AddressOf("relayer")
		if err != nil {
			return nil, err
		}
		if ok {
			r.Relayers, tg.RelayerFrom, tg.FromProfileAddress = []common.Address{a}, "profile "+cfg.Origin("relayer"), true
		}
	}
	if len(r.Relayers) > 0 {
		tg.Relayer = r.Relayers[0]
	}
	if tg.SignerRef != "" && s.StoreKey != nil {
		ref := tg.SignerRef
		r.Signer = func(ctx context.Context) (common.Address, error) { return s.StoreKey(ctx, ref) }
		r.SignerRef, r.RelayerIsSigner = ref, tg.FromSigner
	}
	for key, dst := range map[string]**common.Address{"escrow": &r.Escrow, "identity": &r.Identity} {
		a, ok, err := cfg.AddressOf(key)
		if err != nil {
			return nil, err
		}
		if ok {
			*dst = &a
		}
	}
	r.APIURL = s.APIURL
	if r.APIURL == "" {
		r.APIURL = cfg.String("api_url")
	}
	r.DBPath = s.DB
	if v, ok := cfg.Lookup("database_path"); ok && r.DBPath == "" && v.Source != config.SrcBuiltin {
		r.DBPath = v.Value
	}
	backups := s.Backups
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
	if err := replica(cfg, r, s.Replica); err != nil {
		return nil, err
	}
	return tg, nil
}

// replica points r at the litestream replica given or named by the profile, and at
// vrwxctl-litestream, which reads it (looked up only when there is something it may
// have to read).
func replica(cfg *config.Config, r *Reader, given string) error {
	name, origin := given, "--replica"
	if name == "" {
		name, origin = cfg.String("replica"), cfg.Origin("replica")
	}
	switch {
	case name != "":
		loc, err := sqlitebackup.ParseLocation(name)
		if err != nil {
			return errs.Usagef("%s: %v", origin, err)
		}
		r.Replica = &loc
	case r.Backups != nil && r.Backups.Replica:
		r.Replica, r.Backups = r.Backups, nil
	}
	if r.Replica != nil || r.Backups != nil {
		r.ReplicaEngine = sqlitebackup.FindEngine(cfg.String("litestream_helper"))
	}
	return nil
}
