package cmdutil

import (
	"math/big"

	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// RelayerThresholds reads the runbook thresholds from the configuration.
func RelayerThresholds(cfg *config.Config) doctor.RelayerThresholds {
	eth := func(key string) *big.Int {
		r, ok := cfg.Decimal(key)
		if !ok {
			return new(big.Int)
		}
		return units.EtherToWei(r)
	}
	gwei := func(key string) *big.Int {
		r, ok := cfg.Decimal(key)
		if !ok {
			return new(big.Int)
		}
		return units.GweiToWei(r)
	}
	warnAge, _ := cfg.Duration("head_age_warn")
	critAge, _ := cfg.Duration("head_age_crit")
	return doctor.RelayerThresholds{
		BalanceWarn: eth("balance_warn_eth"), BalanceCrit: eth("balance_crit_eth"),
		GasWarn: gwei("gas_warn_gwei"), GasCrit: gwei("gas_crit_gwei"),
		MaxFeeCap:   gwei("max_fee_gwei"),
		HeadAgeWarn: warnAge, HeadAgeCrit: critAge,
	}
}
