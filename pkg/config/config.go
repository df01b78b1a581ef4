// Package config resolves the effective settings of a vrwxctl invocation: a profile
// (built-in or from the config file), overlaid by the runbook's environment variables
// and then by command-line flags, remembering where every value came from so
// `vrwxctl config view` can show it.
package config

import (
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Source says where a value came from, in precedence order (later wins).
type Source string

const (
	SrcBuiltin    Source = "built-in"
	SrcDeployment Source = "deployment file"
	SrcFile       Source = "config file"
	SrcEnv        Source = "env"
	SrcFlag       Source = "flag"
)

// Setting is one resolved value and its origin.
type Setting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source Source `json:"source"`
	// Detail names the variable, flag or file the value came from.
	Detail string `json:"detail,omitempty"`
}

// Key describes one configurable setting.
type Key struct {
	Name string
	// Env is the environment variable that sets it (the runbook's/API's name where one exists).
	Env  string
	Help string
	kind kind
}

type kind int

const (
	kString kind = iota
	kAddress
	kURLList
	kURL
	kUint
	kDecimal
	kDuration
	kRef // a signer reference
)

// Keys lists every setting a profile can hold, in display order.
var Keys = []Key{
	{Name: "chain_id", Help: "chain id the RPC must report (chain-id guard)", kind: kUint},
	{Name: "rpc_urls", Env: "RPC_URL", Help: "RPC endpoints in failover order (comma-separated in env)", kind: kURLList},
	{Name: "escrow", Env: "JOB_ESCROW_ADDRESS", Help: "JobEscrow contract", kind: kAddress},
	{Name: "identity", Env: "IDENTITY_REGISTRY_ADDRESS", Help: "IdentityRegistry contract", kind: kAddress},
	{Name: "token", Env: "VRWX_SETTLEMENT_TOKEN", Help: "settlement token (USDC)", kind: kAddress},
	{Name: "api_url", Env: "VRWX_API_URL", Help: "VRWX API base URL (for /health)", kind: kURL},
	{Name: "database_path", Env: "DATABASE_PATH", Help: "the API's SQLite database", kind: kString},
	{Name: "signer", Env: "VRWX_SIGNER", Help: "relayer signer reference (aws-sm://, vault://, keystore://, file://, env://)", kind: kRef},
	{Name: "relayer", Env: "VRWX_RELAYER_ADDRESS", Help: "relayer address when no signer is configured", kind: kAddress},
	{Name: "treasury", Env: "VRWX_TREASURY_ADDRESS", Help: "treasury address (drain destination)", kind: kAddress},
	{Name: "treasury_signer", Env: "VRWX_TREASURY_SIGNER", Help: "treasury signer reference (funds new relayers)", kind: kRef},
	{Name: "max_fee_gwei", Env: "MAX_FEE_PER_GAS_GWEI", Help: "EIP-1559 max fee per gas cap", kind: kDecimal},
	{Name: "max_priority_fee_gwei", Env: "MAX_PRIORITY_FEE_GWEI", Help: "EIP-1559 priority fee cap", kind: kDecimal},
	{Name: "gas_limit_multiplier", Env: "GAS_LIMIT_MULTIPLIER", Help: "gas limit = estimate x multiplier", kind: kDecimal},
	{Name: "funding_limit_eth", Help: "largest wallet fund without --force (0 = no limit)", kind: kDecimal},
	{Name: "payment_window", Help: "a send is refused when the chain shows the same payment (recipient, value, calldata) from the signer pending or mined this long before the latest block; --new-payment sends anyway", kind: kDuration},
	{Name: "rotation_fund_eth", Help: "ETH key rotate sends a new relayer (runbook: production 0.5, staging 0.1)", kind: kDecimal},
	{Name: "balance_warn_eth", Help: "relayer balance warning threshold (runbook table: 0.2)", kind: kDecimal},
	{Name: "balance_crit_eth", Help: "relayer balance critical threshold (runbook table: 0.05; its alert rule uses 0.1)", kind: kDecimal},
	{Name: "gas_warn_gwei", Help: "gas price warning threshold", kind: kDecimal},
	{Name: "gas_crit_gwei", Help: "gas price critical threshold", kind: kDecimal},
	{Name: "dlq_warn", Help: "DLQ depth warning threshold", kind: kUint},
	{Name: "dlq_crit", Help: "DLQ depth critical threshold", kind: kUint},
	{Name: "head_age_warn", Help: "chain head older than this is a warning", kind: kDuration},
	{Name: "head_age_crit", Help: "chain head older than this is critical", kind: kDuration},
	{Name: "api_latency_warn", Help: "/health slower than this is a warning (runbook: API latency 2s)", kind: kDuration},
	{Name: "api_latency_crit", Help: "/health slower than this is critical (runbook: API latency 5s)", kind: kDuration},
	{Name: "rpc_lag_warn", Help: "an RPC this many blocks behind the highest head is a warning", kind: kUint},
	{Name: "rpc_lag_crit", Help: "an RPC this many blocks behind the highest head is critical", kind: kUint},
	{Name: "backup_location", Env: "VRWX_BACKUP_LOCATION", Help: "where database backups go (directory or s3://bucket/prefix): status judges the newest one's age", kind: kString},
	{Name: "backup_age_warn", Help: "newest backup older than this is a warning", kind: kDuration},
	{Name: "backup_age_crit", Help: "newest backup older than this is critical", kind: kDuration},
	{Name: "replica", Env: "VRWX_REPLICA", Help: "litestream replica of the database (file:///dir or s3://bucket/path; also read from backup_location when that holds one): status, doctor and the exporter judge its replicated position's age", kind: kString},
	{Name: "replica_age_warn", Help: "litestream's replicated position older than this is a warning", kind: kDuration},
	{Name: "replica_age_crit", Help: "litestream's replicated position older than this is critical (runbook RPO with litestream: 1h)", kind: kDuration},
	{Name: "litestream_helper", Env: "VRWXCTL_LITESTREAM", Help: "path of vrwxctl-litestream, which reads litestream replicas (default: beside vrwxctl, else on PATH)", kind: kString},
	{Name: "pre_restore_keep", Help: "db restore keeps the newest this many pre-restore-<time> folders beside the database and deletes older ones (0 keeps all)", kind: kUint},
	{Name: "runway_warn_days", Help: "relayer balance lasting fewer days than this at its recent spend rate is a warning", kind: kDecimal},
	{Name: "runway_crit_days", Help: "relayer balance lasting fewer days than this is critical", kind: kDecimal},
}

func keyByName(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Config is the resolved configuration of one invocation.
type Config struct {
	Profile       string
	ProfileSource Source
	// File is the config file that was read ("" when none exists).
	File string
	// SearchedFile is the config file that was looked for ("" when the
	// environment names no home directory).
	SearchedFile string
	// values holds the winning setting per key.
	values map[string]Setting
	// deployment is the local deployment file the local profile reads.
	deployment string
	// deploymentDiscovered says deployment was found from the working directory
	// rather than named by VRWXCTL_DEPLOYMENT.
	deploymentDiscovered bool
}

// Settings returns every key with a value, in Keys order.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(c.values))
	for _, k := range Keys {
		if s, ok := c.values[k.Name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// Lookup returns the setting for key and whether it is set (non-empty).
func (c *Config) Lookup(key string) (Setting, bool) {
	s, ok := c.values[key]
	return s, ok && s.Value != ""
}

// String returns the raw value of key ("" when unset).
func (c *Config) String(key string) string { return c.values[key].Value }

func (c *Config) origin(key string) string {
	s := c.values[key]
	if s.Detail != "" {
		return fmt.Sprintf("%s (%s %s)", key, s.Source, redact.Mask(s.Detail))
	}
	return fmt.Sprintf("%s (%s)", key, s.Source)
}

// ChainID returns the profile's chain id.
func (c *Config) ChainID() (uint64, error) {
	v, ok := c.Lookup("chain_id")
	if !ok {
		return 0, errs.Usagef("profile %q has no chain_id", c.Profile).WithFix("set chain_id in the profile of the config file")
	}
	n, err := strconv.ParseUint(v.Value, 10, 64)
	if err != nil {
		return 0, errs.Usagef("%s: %s is not a chain id (expected a positive integer)", c.origin("chain_id"), redact.Quote(v.Value))
	}
	return n, nil
}

// RPCURLs returns the RPC endpoints in failover order.
func (c *Config) RPCURLs() ([]string, error) {
	v, ok := c.Lookup("rpc_urls")
	if !ok {
		return nil, errs.Usagef("profile %q has no RPC URL", c.Profile).WithFix("pass --rpc-url, set RPC_URL, or set rpc_urls in the config file")
	}
	return splitList(v.Value), nil
}

// Address returns an address setting; ok is false when it is unset.
func (c *Config) Address(key string) (addr string, ok bool) {
	v, set := c.Lookup(key)
	return v.Value, set
}

// AddressOf returns the address setting key parsed (EIP-55 checked), or the zero
// address and false when the profile has none; a bad value is a usage error naming
// where it came from.
func (c *Config) AddressOf(key string) (common.Address, bool, error) {
	s, ok := c.Address(key)
	if !ok {
		return common.Address{}, false, nil
	}
	a, err := units.ParseAddress(s)
	if err != nil {
		return common.Address{}, false, errs.Usagef("%s: %v", c.Origin(key), err)
	}
	return a, true, nil
}

// Decimal returns a decimal setting as a big.Rat (nil, false when unset).
func (c *Config) Decimal(key string) (*big.Rat, bool) {
	v, ok := c.Lookup(key)
	if !ok {
		return nil, false
	}
	r, _ := new(big.Rat).SetString(v.Value) // validated when resolved
	return r, true
}

// Uint returns an integer setting.
func (c *Config) Uint(key string) (uint64, bool) {
	v, ok := c.Lookup(key)
	if !ok {
		return 0, false
	}
	n, _ := strconv.ParseUint(v.Value, 10, 64)
	return n, true
}

// Duration returns a duration setting.
func (c *Config) Duration(key string) (time.Duration, bool) {
	v, ok := c.Lookup(key)
	if !ok {
		return 0, false
	}
	d, _ := time.ParseDuration(v.Value)
	return d, true
}

// Origin says where key's value came from, for error messages ("rpc_urls (env RPC_URL)").
func (c *Config) Origin(key string) string { return c.origin(key) }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate checks one value against its key's kind. The message names the key, the
// value, where it came from and the expected form.
func validate(k Key, s Setting) error {
	where := string(s.Source)
	if s.Detail != "" {
		where += " " + redact.Mask(s.Detail)
	}
	bad := func(expected string) error {
		return errs.Usagef("%s = %s (from %s) is not %s", k.Name, redact.Quote(s.Value), where, expected)
	}
	if s.Value == "" {
		return nil
	}
	if keyShaped(k, s.Value) {
		// Registered first: whatever else quotes the value (a later error, a log)
		// shows it redacted.
		redact.RegisterKeyLike(s.Value)
		return errs.Usagef("%s (from %s) looks like a raw private key (64 hex digits), which is never shown; expected %s", k.Name, where, k.expected()).
			WithFix("put the key in a secret store or a 0600 file and give its reference (e.g. signer: aws-sm://vrwx/prod/relayer-key or env://RELAYER_PRIVATE_KEY); if the key was typed into a shared config or shell, rotate it")
	}
	switch k.kind {
	case kAddress:
		if err := units.CheckAddress(s.Value); err != nil {
			return errs.Usagef("%s (from %s): %v", k.Name, where, err)
		}
	case kURLList:
		for _, u := range splitList(s.Value) {
			if err := CheckURL(u); err != nil {
				return errs.Usagef("%s (from %s): %v", k.Name, where, err)
			}
		}
	case kURL:
		if err := CheckURL(s.Value); err != nil {
			return errs.Usagef("%s (from %s): %v", k.Name, where, err)
		}
	case kUint:
		if _, err := strconv.ParseUint(s.Value, 10, 64); err != nil {
			return bad("a non-negative integer")
		}
	case kDecimal:
		r, ok := new(big.Rat).SetString(s.Value)
		if !ok || r.Sign() < 0 {
			return bad("a non-negative decimal number such as 0.2")
		}
	case kDuration:
		if _, err := time.ParseDuration(s.Value); err != nil {
			return bad("a duration such as 90s or 5m")
		}
	}
	return nil
}

// keyShaped reports whether value looks like a private key where k expects
// something else: anywhere in a reference (file://<key> included), the whole value
// (or one list item) elsewhere.
func keyShaped(k Key, value string) bool {
	switch k.kind {
	case kRef:
		return redact.ContainsKeyLike(value)
	case kURLList:
		for _, u := range splitList(value) {
			if redact.LooksLikeKey(u) {
				return true
			}
		}
		return false
	}
	return redact.LooksLikeKey(value)
}

func (k Key) expected() string {
	switch k.kind {
	case kAddress:
		return "an address (0x followed by 40 hex digits)"
	case kURLList:
		return "RPC URLs such as https://mainnet.base.org"
	case kURL:
		return "a URL such as https://api.vrwx.io"
	case kUint:
		return "a non-negative integer"
	case kDecimal:
		return "a non-negative decimal number"
	case kDuration:
		return "a duration such as 90s or 5m"
	case kRef:
		return "a signer reference (aws-sm://, vault://, keystore://, file:// or env://VAR)"
	}
	return "a path or a name"
}

// CheckURL accepts http(s) and ws(s) URLs with a host and, when one is given, a
// port from 1 to 65535.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s is not a URL (expected e.g. https://mainnet.base.org)", redact.Quote(raw))
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("%s has scheme %s (expected http, https, ws or wss)", redact.Quote(raw), redact.Quote(u.Scheme))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("%s has port %s (expected a port from 1 to 65535)", redact.Quote(raw), redact.Quote(p))
		}
	}
	return nil
}

// LookupEnv reads one environment variable, as os.LookupEnv does. The binary passes
// os.LookupEnv; tests pass a map, so they never touch the process environment and
// can run in parallel.
type LookupEnv func(string) (string, bool)

// get returns the variable's value, "" when it is unset or when there is no
// environment at all (nil).
func (l LookupEnv) get(name string) string {
	if l == nil {
		return ""
	}
	v, _ := l(name)
	return v
}

// homeDir is $HOME ("" when unset: then nothing is read from a home directory).
func homeDir(env LookupEnv) string { return env.get("HOME") }

// DefaultFile is the config file looked for when neither --config nor
// VRWXCTL_CONFIG names one: $XDG_CONFIG_HOME/vrwxctl/config.yaml, by default
// ~/.config/vrwxctl/config.yaml; "" when neither variable is set.
func DefaultFile(env LookupEnv) string {
	dir := env.get("XDG_CONFIG_HOME")
	if dir == "" {
		home := homeDir(env)
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "vrwxctl", "config.yaml")
}

// StateDir is $XDG_STATE_HOME/vrwxctl, by default ~/.local/state/vrwxctl (audit log,
// journals). Without a home directory it falls back to the temporary directory, so an
// audit log is still written somewhere.
func StateDir(env LookupEnv) string {
	dir := env.get("XDG_STATE_HOME")
	if dir == "" {
		home := homeDir(env)
		if home == "" {
			tmp := env.get("TMPDIR")
			if tmp == "" {
				tmp = "/tmp"
			}
			return filepath.Join(tmp, "vrwxctl-state")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "vrwxctl")
}

// LocalDeploymentFile is the deployment file the local profile reads:
// $VRWXCTL_DEPLOYMENT, else the .devchain/deployment.json that `make devchain` wrote
// in the checkout containing the working directory ("" when there is none).
func LocalDeploymentFile(env LookupEnv) string {
	if p := env.get("VRWXCTL_DEPLOYMENT"); p != "" {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return FindDevchainDeployment(wd)
}

func sortedNames[M ~map[string]V, V any](m M) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
