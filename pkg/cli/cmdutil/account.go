package cmdutil

import (
	"context"
	"math"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Account is an address and what it was resolved from.
type Account struct {
	Address common.Address
	// From describes the origin: "argument", "--signer env://X", "profile signer …".
	From string
	// SignerRef is the reference, when the address came from one.
	SignerRef string
}

// ResolveAccount picks the account a read-only command is about: an explicit address,
// else --signer, else the profile's signer, else the profile's relayer address.
// Reading a signer reference resolves only its address; the key stays inside.
func (f *Factory) ResolveAccount(ctx context.Context, address, signerRef string) (Account, error) {
	if err := OneAccount(address, signerRef); err != nil {
		return Account{}, err
	}
	if address != "" {
		a, err := units.ParseAddress(address)
		if err != nil {
			return Account{}, err
		}
		return Account{Address: a, From: "argument"}, nil
	}
	if signerRef != "" {
		a, err := f.SignerAddress(ctx, signerRef)
		if err != nil {
			return Account{}, err
		}
		return Account{Address: a, From: "--signer " + signerRef, SignerRef: signerRef}, nil
	}
	cfg, err := f.Config()
	if err != nil {
		return Account{}, err
	}
	if ref, ok := cfg.Lookup("signer"); ok {
		a, err := f.SignerAddress(ctx, ref.Value)
		if err != nil {
			return Account{}, err
		}
		return Account{Address: a, From: "profile signer " + ref.Value, SignerRef: ref.Value}, nil
	}
	if addr, ok := cfg.Address("relayer"); ok {
		a, err := units.ParseAddress(addr)
		if err != nil {
			return Account{}, err
		}
		return Account{Address: a, From: "profile " + cfg.Origin("relayer")}, nil
	}
	return Account{}, errs.Usagef("no account given and profile %q has no signer or relayer address", cfg.Profile).
		WithFix("pass an ADDRESS, --address or --signer REF, or set signer / relayer in the profile")
}

// OneAccount rejects an address and a --signer given together.
func OneAccount(address, signerRef string) error {
	if address != "" && signerRef != "" {
		return errs.Usagef("both an address and --signer given (choose one)")
	}
	return nil
}

// ParseBlock parses --block: latest, pending, safe, finalized, earliest or a number.
func ParseBlock(s string) (chain.Block, error) {
	switch strings.ToLower(s) {
	case "latest", "pending", "safe", "finalized", "earliest":
		return chain.Block(strings.ToLower(s)), nil
	}
	n, err := ParseUint("--block", s, math.MaxUint64)
	if err != nil {
		return "", errs.Usagef("--block %s is not a block (expected latest, pending, safe, finalized or a block number: %s)", redact.Quote(s), numberForm)
	}
	return chain.BlockNumber(n), nil
}
