package cmdutil

import (
	"context"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// SendOptions are the flags every sending command shares.
type SendOptions struct {
	Signer string
	Reason string
}

// OpenSigner resolves a signer reference into a signer. The key stays inside it.
func (f *Factory) OpenSigner(ctx context.Context, ref string) (*signer.Signer, error) {
	if ref == "" {
		return nil, errs.Usagef("--signer is required (a reference such as aws-sm://…, vault://…, keystore://…, file://… or env://VAR)")
	}
	return signer.Open(ctx, ref, f.SecretsOptions())
}

// SecretsOptions are the options secret stores are opened with.
func (f *Factory) SecretsOptions() secrets.Options { return secrets.Options{LookupEnv: f.LookupEnv} }

// FeePolicy reads the runbook's fee caps from the configuration.
func FeePolicy(cfg *config.Config) chain.FeePolicy {
	var p chain.FeePolicy
	if r, ok := cfg.Decimal("max_fee_gwei"); ok && r.Sign() > 0 {
		p.MaxFeeCap = units.GweiToWei(r)
	}
	if r, ok := cfg.Decimal("max_priority_fee_gwei"); ok {
		p.MaxPriorityCap = units.GweiToWei(r)
	}
	if r, ok := cfg.Decimal("gas_limit_multiplier"); ok && r.Sign() > 0 {
		p.GasLimitMultiplier = r
	}
	return p
}

// Flow builds the shared send path for a command: chain client, signer, audit log,
// --yes / --dry-run, and the operator's --reason.
func (f *Factory) Flow(ctx context.Context, command string, so SendOptions) (*txflow.Flow, *config.Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	c, err := f.Chain()
	if err != nil {
		return nil, nil, err
	}
	s, err := f.OpenSigner(ctx, so.Signer)
	if err != nil {
		return nil, nil, err
	}
	return &txflow.Flow{
		Chain: c, Signer: s, IO: f.IO, Audit: &audit.Log{Path: audit.DefaultPath(config.StateDir(f.LookupEnv)), User: audit.CurrentUser(f.LookupEnv)},
		Profile: cfg.Profile, Command: strings.TrimSpace(command), Reason: so.Reason,
		Yes: f.Globals.Yes, DryRun: f.Globals.DryRun,
	}, cfg, nil
}
