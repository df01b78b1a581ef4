package monitor_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/monitor"
)

func profile(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	m := map[string]string{
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir(),
		"VRWXCTL_DEPLOYMENT": filepath.Join(t.TempDir(), "absent.json"), "RPC_URL": "http://127.0.0.1:1,http://127.0.0.1:2",
	}
	for k, v := range vars {
		m[k] = v
	}
	cfg, err := config.Load(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// One builder decides, for status, doctor and the exporter alike, which relayer is
// read and what else the profile names; nothing is read while building.
func TestForProfile(t *testing.T) {
	t.Parallel()
	given := common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	localRelayer := common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	storeKey := func(context.Context, string) (common.Address, error) {
		return common.Address{}, errors.New("not read while building")
	}
	for _, c := range []struct {
		name       string
		vars       map[string]string
		src        monitor.Sources
		relayers   []common.Address
		signerRef  string
		fromSigner bool
		from       string
	}{
		{name: "profile relayer", relayers: []common.Address{localRelayer}, from: "profile relayer (built-in)"},
		{name: "address given", src: monitor.Sources{Relayers: []common.Address{given}, RelayersFrom: "--address"},
			relayers: []common.Address{given}, from: "--address"},
		{name: "signer given", src: monitor.Sources{Signer: "env://K"}, signerRef: "env://K", fromSigner: true, from: "current key of env://K"},
		{name: "profile signer", vars: map[string]string{"VRWX_SIGNER": "env://P"}, signerRef: "env://P", fromSigner: true,
			from: "current key of the profile's signer env://P"},
		{name: "address and profile signer", vars: map[string]string{"VRWX_SIGNER": "env://P"},
			src:      monitor.Sources{Relayers: []common.Address{given}, RelayersFrom: "--relayer"},
			relayers: []common.Address{given}, signerRef: "env://P", from: "--relayer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := profile(t, c.vars)
			src := c.src
			src.StoreKey = storeKey
			tg, err := monitor.ForProfile(cfg, chain.New(chain.Options{URLs: []string{"http://127.0.0.1:1"}, ChainID: 31337}), src)
			if err != nil {
				t.Fatal(err)
			}
			r := tg.Reader
			if len(r.Relayers) != len(c.relayers) || (len(c.relayers) > 0 && r.Relayers[0] != c.relayers[0]) {
				t.Errorf("relayers %v, want %v", r.Relayers, c.relayers)
			}
			if tg.SignerRef != c.signerRef || tg.FromSigner != c.fromSigner || r.RelayerIsSigner != c.fromSigner || tg.RelayerFrom != c.from {
				t.Errorf("signer %q from signer %v (reader %v), relayer from %q; want %q %v %q", tg.SignerRef, tg.FromSigner, r.RelayerIsSigner, tg.RelayerFrom,
					c.signerRef, c.fromSigner, c.from)
			}
			if (r.Signer != nil) != (c.signerRef != "") || r.SignerRef != c.signerRef {
				t.Errorf("store reading %v of %q, want one of %q", r.Signer != nil, r.SignerRef, c.signerRef)
			}
			if len(r.Endpoints) != 2 || r.Escrow == nil || r.Identity == nil || r.APIURL == "" {
				t.Errorf("endpoints %d, escrow %v, identity %v, API %q: the profile's", len(r.Endpoints), r.Escrow, r.Identity, r.APIURL)
			}
			if r.DBPath != "" || r.Backups != nil {
				t.Errorf("database %q, backups %v: the built-in default is not a database to judge", r.DBPath, r.Backups)
			}
		})
	}
}

func TestForProfileDatabaseBackupsAndBadValues(t *testing.T) {
	t.Parallel()
	c := chain.New(chain.Options{URLs: []string{"http://127.0.0.1:1"}, ChainID: 31337})
	tg, err := monitor.ForProfile(profile(t, map[string]string{"DATABASE_PATH": "/data/vrwx.db", "VRWX_BACKUP_LOCATION": "s3://bkt/vrwx"}), c,
		monitor.Sources{APIURL: "http://api.example"})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Reader.DBPath != "/data/vrwx.db" || tg.Reader.Backups == nil || tg.Reader.Backups.String() != "s3://bkt/vrwx" || tg.Reader.APIURL != "http://api.example" {
		t.Errorf("database %q, backups %v, API %q", tg.Reader.DBPath, tg.Reader.Backups, tg.Reader.APIURL)
	}
	if tg.Reader.Signer != nil {
		t.Error("no StoreKey, yet the store is read")
	}
	tg, err = monitor.ForProfile(profile(t, map[string]string{"DATABASE_PATH": "/data/vrwx.db"}), c, monitor.Sources{DB: "/other.db", Backups: "/backups"})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Reader.DBPath != "/other.db" || tg.Reader.Backups == nil || tg.Reader.Backups.String() != "/backups" {
		t.Errorf("given database %q and backups %v do not win over the profile's", tg.Reader.DBPath, tg.Reader.Backups)
	}
	_, err = monitor.ForProfile(profile(t, map[string]string{"VRWX_BACKUP_LOCATION": "ftp://x"}), c, monitor.Sources{})
	if errs.KindOf(err) != errs.Usage {
		t.Errorf("a bad backup_location: %v, want a usage error", err)
	}
}
