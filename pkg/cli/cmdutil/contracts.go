package cmdutil

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Escrow returns the profile's JobEscrow address, or a usage error saying where to
// set one.
func Escrow(cfg *config.Config) (common.Address, error) {
	s, ok := cfg.Address("escrow")
	if !ok {
		return common.Address{}, errs.Usagef("profile %q has no JobEscrow address", cfg.Profile).
			WithFix("set JOB_ESCROW_ADDRESS, or `escrow` in the profile of the config file (vrwxctl config view shows the settings)")
	}
	a, err := units.ParseAddress(s)
	if err != nil {
		return common.Address{}, errs.Usagef("%s: %v", cfg.Origin("escrow"), err)
	}
	return a, nil
}

// Contracts are the profile's contract addresses: the escrow is required, the
// registry and the settlement token are optional.
type Contracts struct {
	Escrow                common.Address
	Identity, Token       common.Address
	HasIdentity, HasToken bool
}

// ContractsOf reads the profile's addresses, with the usage errors of Escrow and
// OptionalAddress.
func ContractsOf(cfg *config.Config) (Contracts, error) {
	var c Contracts
	var err error
	if c.Escrow, err = Escrow(cfg); err != nil {
		return c, err
	}
	if c.Identity, c.HasIdentity, err = OptionalAddress(cfg, "identity"); err != nil {
		return c, err
	}
	c.Token, c.HasToken, err = OptionalAddress(cfg, "token")
	return c, err
}

// OptionalAddress returns the address setting key, or the zero address and false
// when the profile has none (config.Config.AddressOf).
func OptionalAddress(cfg *config.Config, key string) (common.Address, bool, error) {
	return cfg.AddressOf(key)
}
