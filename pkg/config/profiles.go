package config

// Built-in profiles: the spec's networks and the base-mainnet deployment. Addresses
// are only defaults; every one can be overridden by the config file, env or flags.
var builtin = map[string]map[string]string{
	"base-mainnet": {
		"chain_id":          "8453",
		"rpc_urls":          "https://mainnet.base.org",
		"escrow":            "0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B",
		"identity":          "0x1f9Aa1738428a8b81798C79F571a61f0C2A8658b",
		"token":             "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
		"api_url":           "https://api.vrwx.io",
		"funding_limit_eth": "1",
		// The runbook's "recommended initial funding" of a new relayer.
		"rotation_fund_eth": "0.5",
	},
	"base-sepolia": {
		"chain_id":          "84532",
		"rpc_urls":          "https://sepolia.base.org",
		"funding_limit_eth": "1",
		"rotation_fund_eth": "0.1", // staging
		// Staging relayers are funded with 0.1 ETH (the runbook), so the production
		// lines (warning 0.2, critical 0.05) would warn from the first minute.
		"balance_warn_eth": "0.05",
		"balance_crit_eth": "0.02",
	},
	// local is the anvil chain that `make devchain` starts: the addresses are where anvil's
	// first dev account deploys at nonces 0-2, so they hold on any fresh anvil.
	"local": {
		"chain_id":      "31337",
		"rpc_urls":      "http://127.0.0.1:8545",
		"token":         "0x5FbDB2315678afecb367f032d93F642f64180aa3",
		"identity":      "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
		"escrow":        "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
		"relayer":       "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
		"treasury":      "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
		"api_url":       "http://127.0.0.1:3000",
		"database_path": "./data/vrwx.db",
		// As production, so the dev chain's status is green after a rotation.
		"rotation_fund_eth": "0.5",
		// anvil mines only when asked, so an idle dev chain's head ages without anything
		// being wrong: head age is not judged here.
		"head_age_warn": "0s",
		"head_age_crit": "0s",
	},
}

// Defaults every profile starts from: the API's documented relayer settings and the
// runbook's monitoring thresholds. The runbook's table says critical < 0.05 ETH while its
// alert rule fires at < 0.1 ETH; vrwxctl follows the table and lets either be configured.
var defaults = map[string]string{
	"max_fee_gwei":          "50",
	"max_priority_fee_gwei": "1",
	"gas_limit_multiplier":  "1.2",
	"funding_limit_eth":     "0",
	"payment_window":        "1h",
	"balance_warn_eth":      "0.2",
	"balance_crit_eth":      "0.05",
	"gas_warn_gwei":         "50",
	"gas_crit_gwei":         "100",
	"dlq_warn":              "10",
	"dlq_crit":              "50",
	"head_age_warn":         "2m",
	"head_age_crit":         "10m",
	"database_path":         "./data/vrwx.db",
	"api_latency_warn":      "2s",
	"api_latency_crit":      "5s",
	// Base makes a block every 2 s: 5 blocks behind is 10 s, 50 is over a minute.
	"rpc_lag_warn": "5",
	"rpc_lag_crit": "50",
	// The backup CronJob in docs/deploy runs hourly: one missed run warns, a day
	// without a backup is critical (the runbook's RPO is "last backup").
	"backup_age_warn":  "2h",
	"backup_age_crit":  "25h",
	"runway_warn_days": "7",
	"runway_crit_days": "2",
	// Each restore moves the database it replaces into a pre-restore folder: the
	// last five restores can be undone, and a 1 GB database keeps at most 5 GB.
	"pre_restore_keep": "5",
	// litestream syncs every second: a quarter of an hour behind means it stopped;
	// an hour behind is the runbook's RPO with litestream.
	"replica_age_warn": "15m",
	"replica_age_crit": "1h",
}

// DefaultProfile is used when neither --profile, VRWX_PROFILE nor the config file's
// default_profile names one, so nothing touches a real chain by accident.
const DefaultProfile = "local"

// BuiltinProfiles returns the names of the built-in profiles.
func BuiltinProfiles() []string { return sortedNames(builtin) }
