package cmdutil

import (
	"context"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// SendOptions are the flags every sending command shares.
type SendOptions struct {
	Signer string
	Reason string
	// NewPayment is --new-payment: this is a new, separate payment even though an
	// earlier one of the same intent is pending or was mined unreported.
	NewPayment bool
}

// AddSendFlags registers --signer, --reason and --new-payment; signerHelp says whose
// key --signer names in this command.
func AddSendFlags(fs *pflag.FlagSet, so *SendOptions, signerHelp string) {
	fs.StringVar(&so.Signer, "signer", "", signerHelp)
	fs.StringVar(&so.Reason, "reason", "", "ticket or reason, recorded in the audit log")
	fs.BoolVar(&so.NewPayment, "new-payment", false, "send even though the chain shows the same payment (recipient, value, calldata) from this signer pending or mined within payment_window, or the audit log one never reported (a new, separate payment)")
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

// FeePolicy reads the runbook's fee caps from the configuration. Values that no
// relayer would send with are refused by CheckFeePolicy (and again by the chain
// client before anything is signed).
func FeePolicy(cfg *config.Config) chain.FeePolicy {
	var p chain.FeePolicy
	if r, ok := cfg.Decimal("max_fee_gwei"); ok {
		p.MaxFeeCap = units.GweiToWei(r)
	}
	if r, ok := cfg.Decimal("max_priority_fee_gwei"); ok {
		p.MaxPriorityCap = units.GweiToWei(r)
	}
	if r, ok := cfg.Decimal("gas_limit_multiplier"); ok {
		p.GasLimitMultiplier = r
	}
	return p
}

// CheckFeePolicy refuses fee settings no relayer would send with, naming the value
// and where it came from: GAS_LIMIT_MULTIPLIER outside [1, 10], fee caps ≤ 0.
func CheckFeePolicy(cfg *config.Config) error {
	if r, ok := cfg.Decimal("gas_limit_multiplier"); ok && (r.Cmp(big.NewRat(1, 1)) < 0 || r.Cmp(big.NewRat(10, 1)) > 0) {
		return errs.Usagef("%s = %s is outside [1, 10] (expected a multiplier of the gas estimate such as 1.2); nothing was signed",
			cfg.Origin("gas_limit_multiplier"), redact.Quote(cfg.String("gas_limit_multiplier")))
	}
	for _, k := range []string{"max_fee_gwei", "max_priority_fee_gwei"} {
		if r, ok := cfg.Decimal(k); ok && units.GweiToWei(r).Sign() <= 0 {
			return errs.Usagef("%s = %s is not a positive fee cap (expected gwei per gas such as 50 or 0.01); nothing was signed",
				cfg.Origin(k), redact.Quote(cfg.String(k)))
		}
	}
	return nil
}

// PaymentWindow is how far back the chain is searched for the same payment before
// a send (payment_window; txflow.DefaultWindow when unset or not positive).
func PaymentWindow(cfg *config.Config) time.Duration {
	if d, ok := cfg.Duration("payment_window"); ok && d > 0 {
		return d
	}
	return txflow.DefaultWindow
}

// AuditLog is the audit log in the state directory, where sends and key operations
// are recorded.
func (f *Factory) AuditLog() *audit.Log {
	return &audit.Log{Path: audit.DefaultPath(f.StateDir()), User: audit.CurrentUser(f.LookupEnv)}
}

// Next words txflow's advice in vrwxctl's own commands.
func Next() txflow.Next {
	return txflow.Next{
		Wait:       func(h common.Hash) string { return "run `vrwxctl tx wait " + h.Hex() + "`" },
		Status:     func(h common.Hash) string { return "run `vrwxctl tx status " + h.Hex() + "`" },
		Fund:       func(a common.Address) string { return "fund it first (`vrwxctl wallet fund --to " + a.Hex() + " …`)" },
		NewPayment: "--new-payment",
	}
}

// Flow builds the shared send path for a command: chain client, signer, audit log,
// the signer's send lock, --yes / --dry-run / --new-payment, and the operator's --reason.
func (f *Factory) Flow(ctx context.Context, command string, so SendOptions) (*txflow.Flow, *config.Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	if err := CheckFeePolicy(cfg); err != nil {
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
		Chain: c, Signer: s, IO: f.IO, Audit: f.AuditLog(), LockDir: f.StateDir(),
		Profile: cfg.Profile, Command: strings.TrimSpace(command), Reason: so.Reason,
		Yes: f.Globals.Yes, DryRun: f.Globals.DryRun, NewPayment: so.NewPayment, Window: PaymentWindow(cfg), Next: Next(),
	}, cfg, nil
}
