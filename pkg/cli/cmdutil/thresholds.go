package cmdutil

import (
	"math/big"
	"time"

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

// SystemThresholds reads every limit status and doctor judge against.
func SystemThresholds(cfg *config.Config) doctor.SystemThresholds {
	dur := func(key string) time.Duration { d, _ := cfg.Duration(key); return d }
	count := func(key string) uint64 { n, _ := cfg.Uint(key); return n }
	days := func(key string) time.Duration {
		r, ok := cfg.Decimal(key)
		if !ok {
			return 0
		}
		f, _ := r.Float64()
		return time.Duration(f * float64(24*time.Hour))
	}
	return doctor.SystemThresholds{
		Relayer: RelayerThresholds(cfg),
		DLQWarn: int64(count("dlq_warn")), DLQCrit: int64(count("dlq_crit")),
		APILatencyWarn: dur("api_latency_warn"), APILatencyCrit: dur("api_latency_crit"),
		RPCLagWarn: count("rpc_lag_warn"), RPCLagCrit: count("rpc_lag_crit"),
		BackupAgeWarn: dur("backup_age_warn"), BackupAgeCrit: dur("backup_age_crit"),
		ReplicaAgeWarn: dur("replica_age_warn"), ReplicaAgeCrit: dur("replica_age_crit"),
		RunwayWarn: days("runway_warn_days"), RunwayCrit: days("runway_crit_days"),
	}
}
