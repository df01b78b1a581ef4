package doctor

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// SystemThresholds are every limit the whole-system checks judge against; each is
// a profile setting.
type SystemThresholds struct {
	Relayer RelayerThresholds
	// DLQWarn and DLQCrit are the "DLQ Depth" row: warning above 10, critical above 50.
	DLQWarn, DLQCrit int64
	// APILatencyWarn and APILatencyCrit are the "API Latency (p99)" row: 2 s and 5 s.
	APILatencyWarn, APILatencyCrit time.Duration
	// RPCLagWarn and RPCLagCrit are how many blocks an RPC may trail the highest head.
	RPCLagWarn, RPCLagCrit uint64
	// BackupAgeWarn and BackupAgeCrit bound the newest backup's age.
	BackupAgeWarn, BackupAgeCrit time.Duration
	// ReplicaAgeWarn and ReplicaAgeCrit bound the age of litestream's replicated
	// position (the RPO with litestream).
	ReplicaAgeWarn, ReplicaAgeCrit time.Duration
	// RunwayWarn and RunwayCrit bound how long the relayer's balance lasts at its
	// recent spend rate.
	RunwayWarn, RunwayCrit time.Duration
}

// System is what the whole-system checks judge: the readings, and what they are
// compared with.
type System struct {
	Readings monitor.Readings
	// ChainID is the profile's chain id (the API must run on it).
	ChainID uint64
	// Relayer is the relayer under check; the zero address when none is known.
	Relayer common.Address
	// RelayerFrom says where the relayer came from ("profile signer aws-sm://…").
	RelayerFrom string
	// Retired is set when the relayer is a key a rotation retired: it is never
	// suggested for funding.
	Retired *Retired
	Now     time.Time
	// RelayerRef and TreasuryRef are the signer references of the relayer and of
	// the treasury when the operator gave them (flag or profile): fixes name them,
	// so they run as printed; unknown, a fix says <relayer-ref> or <treasury-ref>.
	RelayerRef, TreasuryRef string
	// RotatedOut says the profile's relayer address ProfileRelayer is a key a
	// rotation retired; Relayer is then that store's current key.
	RotatedOut     *Retired
	ProfileRelayer common.Address
}

// refOr is ref, or placeholder when it is unknown.
func refOr(ref, placeholder string) string {
	if ref == "" {
		return placeholder
	}
	return ref
}

// fixes shared by several checks.
const (
	fixSwitchRPC = "runbook: RPC node issues — switch to the backup RPC: give it first, --rpc-url BACKUP --rpc-url PRIMARY (or RPC_URL=BACKUP,PRIMARY)"
)

// SystemChecks judges the whole system, section by section: relayer, gas, chain,
// rpc, contracts, api, keys, database, backup. It reads nothing.
func SystemChecks(s System, t SystemThresholds) []Check {
	r := s.Readings
	var out []Check
	add := func(section string, c Check) { c.Section = section; out = append(out, c) }

	// An unreachable chain is said once, first, by the RPC lines (each names its own
	// endpoint's error; the fix is on the first); every check that needs the chain
	// then says it was not read, without repeating the error.
	chainDown := r.Chain.Err != nil && !r.Chain.Up
	if chainDown {
		for _, c := range RPCChecks(r.RPCs, t) {
			add("rpc", c)
		}
		if len(r.RPCs) == 0 {
			add("rpc", Check{Name: "RPC", Level: Crit, Value: "down", Detail: r.Chain.Err.Error()})
		}
		for i := range out {
			if out[i].Level == Crit && out[i].Fix != "" {
				// The chain client's own fix knows the setting (the local chain
				// not running says how to start it); it outranks the generic one.
				if fix := errs.FixOf(r.Chain.Err); fix != "" {
					out[i].Fix = fix
				}
				break
			}
		}
		notRead := func(section, name string) {
			add(section, Check{Name: name, Level: Info, Value: "not read", Detail: "RPC down"})
		}
		if s.Relayer != (common.Address{}) {
			notRead("relayer", "balance")
		}
		notRead("gas", "gas price")
		notRead("chain", "head")
		if r.Contracts != nil {
			notRead("contracts", "escrow code")
		}
	}

	if ret := s.RotatedOut; ret != nil {
		// Status follows the rotation; the setting that named the old key is what to fix.
		why := fmt.Sprintf("a rotation retired it (version %s of %s)", ret.Version, ret.Store)
		if ret.Version == "" {
			why = fmt.Sprintf("the API relays from the current key of %s, a store vrwxctl changed on this host (audit log)", ret.Store)
		}
		add("relayer", Check{Name: "profile relayer", Level: Warn, Value: s.ProfileRelayer.Hex(),
			Detail: fmt.Sprintf("out of date: %s; the relayer in service is the store's current key %s, checked here", why, ret.Current.Hex()),
			Fix:    fmt.Sprintf("point the profile at the store, so every command follows its current key: signer: %s for the profile in the config file (vrwxctl config view shows which), or VRWX_SIGNER=%s", ret.Store, ret.Store)})
	}

	// relayer
	rl, haveRelayer := findRelayer(r.Relayers, s.Relayer)
	switch {
	case chainDown:
	case s.Relayer == (common.Address{}) && !haveRelayer:
		add("relayer", Check{Name: "relayer", Level: Warn, Value: "none",
			Detail: "no relayer address, signer or API relayer to check", Fix: "pass --address or --signer, or set signer / relayer in the profile"})
	case rl.Err != nil:
		add("relayer", Check{Name: "relayer", Level: Crit, Value: "unreadable", Detail: rl.Err.Error(), Fix: fixSwitchRPC})
	default:
		for _, c := range relayerSystemChecks(rl, r, s, t) {
			add("relayer", c)
		}
	}

	// gas and fee cap
	switch {
	case chainDown:
	case r.Gas.Err != nil:
		add("gas", Check{Name: "gas price", Level: Crit, Value: "unreadable", Detail: r.Gas.Err.Error(), Fix: fixSwitchRPC})
	default:
		for _, c := range gasChecks(r.Gas, t.Relayer, s.RelayerRef) {
			add("gas", c)
		}
	}

	// chain head
	switch {
	case chainDown:
	case r.Head.Err != nil:
		add("chain", Check{Name: "head", Level: Crit, Value: "unreadable", Detail: r.Head.Err.Error(), Fix: fixSwitchRPC})
	default:
		add("chain", headCheck(r.Head.Number, r.Head.Time, s.Now, t.Relayer))
	}

	if !chainDown {
		for _, c := range RPCChecks(r.RPCs, t) {
			add("rpc", c)
		}
	}
	if r.Contracts != nil && !chainDown {
		for _, c := range contractChecks(r.Contracts, r.Escrow) {
			add("contracts", c)
		}
	}
	if r.API != nil {
		for _, c := range apiChecks(r.API, s, t) {
			add("api", c)
		}
	} else {
		add("api", Check{Name: "/health", Level: Info, Value: "not configured", Detail: "no API URL: pass --api-url, or set VRWX_API_URL / api_url"})
	}
	if r.Store != nil {
		add("keys", storeCheck(r.Store, r.API))
	}
	if r.DLQ != nil {
		if r.DLQ.Err != nil {
			add("database", Check{Name: "DLQ depth", Level: Crit, Value: "unreadable", Detail: r.DLQ.Err.Error(),
				Fix: "check --db / DATABASE_PATH: vrwxctl reads the API's SQLite database read-only"})
		} else {
			d := DLQChecks(r.DLQ.Summary, t.DLQWarn, t.DLQCrit)[0]
			d.Name = "DLQ depth"
			d.Detail += " · " + r.DLQ.Path
			add("database", d)
		}
		if c, ok := leftoverCheck(r.DLQ.Leftovers); ok {
			add("database", c)
		}
	}
	if r.Backup != nil {
		db := "DB"
		if r.DLQ != nil {
			db = r.DLQ.Path
		}
		add("backup", backupCheck(r.Backup, db, t))
	}
	if r.Replica != nil {
		add("backup", replicaCheck(r.Replica, t))
	}
	return out
}

func findRelayer(rs []monitor.Relayer, a common.Address) (monitor.Relayer, bool) {
	for _, r := range rs {
		if r.Address == a {
			return r, true
		}
	}
	return monitor.Relayer{}, false
}

func relayerSystemChecks(rl monitor.Relayer, r monitor.Readings, sys System, t SystemThresholds) []Check {
	th, retired := t.Relayer, sys.Retired
	var out []Check
	bal := Check{Name: "balance", Value: units.FormatEther(rl.Balance) + " ETH", Level: OK,
		Detail: fmt.Sprintf("%s · warning below %s ETH, critical below %s ETH", rl.Address.Hex(), units.FormatEther(th.BalanceWarn), units.FormatEther(th.BalanceCrit))}
	topUp := fmt.Sprintf("vrwxctl wallet fund --to %s --amount 0.5ether --signer %s", rl.Address.Hex(), refOr(sys.TreasuryRef, "<treasury-ref>"))
	switch {
	case retired != nil:
		// A rotation retired this key: an empty wallet is its expected end, and
		// money sent to it would fund a key nothing should use.
		bal.Detail = fmt.Sprintf("%s · retired relayer: version %s of %s is no longer current (the relayer runs on %s); do not fund it",
			rl.Address.Hex(), retired.Version, retired.Store, retired.Current.Hex())
		bal.Level = Info
		if rl.Balance.Sign() > 0 {
			bal.Fix = "return what is left to the treasury: vrwxctl wallet drain --signer " + retired.Ref
		}
	case rl.Balance.Cmp(th.BalanceCrit) < 0:
		bal.Level, bal.Fix = Crit, "runbook: relayer out of gas — top up immediately: "+topUp
	case rl.Balance.Cmp(th.BalanceWarn) < 0:
		bal.Level, bal.Fix = Warn, "top up the relayer: "+topUp
	}
	out = append(out, bal)
	out = append(out, PendingChecks(rl, r.Gas.BaseFee, sys.RelayerRef)...)
	if retired == nil {
		// A retired key's spending (its drain) is no runway to judge.
		out = append(out, RunwayCheck(rl, r.Head.Time, t, sys.TreasuryRef))
	}
	return out
}

// PendingChecks judges what the relayer has waiting: transactions in the mempool
// (a warning), ones whose fee cap is below the base fee (stuck: critical), and
// transactions queued behind a missing nonce (a nonce gap: critical, nothing after
// it can be mined). relayerRef, when known, is the relayer's signer reference the
// fixes name.
func PendingChecks(rl monitor.Relayer, baseFee *big.Int, relayerRef string) []Check {
	var out []Check
	ref := refOr(relayerRef, "<relayer-ref>")
	n := Check{Name: "nonce", Level: OK, Value: fmt.Sprintf("latest %d, pending %d", rl.NonceLatest, rl.NoncePending), Detail: "no transactions waiting"}
	if w := rl.Pending(); w > 0 {
		n.Level = Warn
		n.Detail = fmt.Sprintf("%d transaction(s) waiting in the mempool (nonces %d..%d)", w, rl.NonceLatest, rl.NoncePending-1)
		n.Fix = fmt.Sprintf("if they stay there: vrwxctl tx speedup --nonce %d --signer %s (or tx cancel)", rl.NonceLatest, ref)
	}
	out = append(out, n)
	if rl.Pool == nil {
		return out
	}
	if !rl.Pool.Known {
		out = append(out, Check{Name: "txpool", Level: Info, Value: "not exposed", Detail: errText(rl.Pool.Err) + ": stuck and queued transactions cannot be listed"})
		return out
	}
	var stuck []history.Tx
	for _, tx := range rl.Pool.Pending {
		if baseFee != nil && tx.FeeCap != nil && tx.FeeCap.Cmp(baseFee) < 0 {
			stuck = append(stuck, tx)
		}
	}
	if len(stuck) > 0 {
		var ns []string
		for _, tx := range stuck {
			ns = append(ns, fmt.Sprintf("nonce %d (%s, cap %s gwei)", tx.Nonce, tx.Hash.Hex(), units.FormatGwei(tx.FeeCap)))
		}
		out = append(out, Check{Name: "stuck", Level: Crit, Value: fmt.Sprintf("%d underpriced", len(stuck)),
			Detail: fmt.Sprintf("fee cap below the base fee %s gwei, cannot be mined: %s", units.FormatGwei(baseFee), strings.Join(ns, "; ")),
			Fix:    fmt.Sprintf("vrwxctl tx speedup --nonce %d --signer %s (fees +12.5%%; raise MAX_FEE_PER_GAS_GWEI first if the base fee is above it)", stuck[0].Nonce, ref)})
	}
	if len(rl.Pool.Queued) > 0 {
		first := rl.Pool.Queued[0].Nonce
		next := rl.NoncePending
		var ns []string
		for _, tx := range rl.Pool.Queued {
			ns = append(ns, fmt.Sprint(tx.Nonce))
		}
		missing := fmt.Sprintf("nonce %d", next)
		if first > next+1 {
			missing = fmt.Sprintf("nonces %d..%d", next, first-1)
		}
		out = append(out, Check{Name: "nonce gap", Level: Crit, Value: fmt.Sprintf("%d queued", len(rl.Pool.Queued)),
			Detail: fmt.Sprintf("%s never reached the node (or were dropped); queued nonces %s wait behind it and cannot be mined", missing, strings.Join(ns, ", ")),
			Fix:    fmt.Sprintf("fill %s: any transaction from the relayer takes it — vrwxctl wallet fund --to %s --amount 1wei --signer %s (a self-transfer), or let the API relay again", missing, rl.Address.Hex(), ref)})
	}
	return out
}

// RunwayCheck judges how long the balance lasts at the spend rate of the window the
// readings reach back to; treasuryRef, when known, is the signer its fix names.
func RunwayCheck(rl monitor.Relayer, headTime time.Time, t SystemThresholds, treasuryRef string) Check {
	c := Check{Name: "runway", Level: Info}
	sp := rl.Spend
	switch {
	case sp == nil && rl.SpendErr != nil:
		c.Value, c.Detail = "unknown", "no past balance to compare with: "+rl.SpendErr.Error()
		return c
	case sp == nil:
		c.Value, c.Detail = "not read", "no spend window asked for"
		return c
	}
	window := headTime.Sub(sp.Time)
	if window <= 0 {
		c.Value, c.Detail = "unknown", fmt.Sprintf("block %d is no older than the head", sp.Block)
		return c
	}
	sent := rl.NonceLatest - min(sp.Nonce, rl.NonceLatest)
	spent := new(big.Int).Sub(sp.Balance, rl.Balance)
	span := fmt.Sprintf("since block %d (%s)", sp.Block, long(window))
	switch {
	case sent == 0:
		// An account pays only for what it sends.
		c.Level, c.Value, c.Detail = OK, "no spend", fmt.Sprintf("no transactions %s", span)
		return c
	case spent.Sign() <= 0:
		c.Value, c.Detail = "unknown", fmt.Sprintf("%d transaction(s) %s, but the balance rose (a top-up): the spend rate cannot be told", sent, span)
		return c
	}
	// rate in wei per second, runway = balance / rate.
	secs := new(big.Int).SetInt64(int64(window / time.Second))
	if secs.Sign() == 0 {
		secs.SetInt64(1)
	}
	left := new(big.Int).Div(new(big.Int).Mul(rl.Balance, secs), spent) // seconds
	const century = 100 * 365 * 24 * 3600
	runway := time.Duration(min(left.Int64(), century)) * time.Second
	if !left.IsInt64() {
		runway = century * time.Second
	}
	perDay := new(big.Int).Div(new(big.Int).Mul(spent, big.NewInt(86400)), secs)
	c.Value = fmt.Sprintf("%.1f days", runway.Hours()/24)
	c.Detail = fmt.Sprintf("at %.4g ETH/day (%.4g ETH in %d transaction(s) %s) · warning below %.0f days, critical below %.0f",
		units.WeiToEtherFloat(perDay), units.WeiToEtherFloat(spent), sent, span, t.RunwayWarn.Hours()/24, t.RunwayCrit.Hours()/24)
	c.Level = OK
	fix := fmt.Sprintf("top up before it runs out: vrwxctl wallet fund --to %s --amount 0.5ether --signer %s", rl.Address.Hex(), refOr(treasuryRef, "<treasury-ref>"))
	switch {
	case t.RunwayCrit > 0 && runway < t.RunwayCrit:
		c.Level, c.Fix = Crit, fix
	case t.RunwayWarn > 0 && runway < t.RunwayWarn:
		c.Level, c.Fix = Warn, fix
	}
	return c
}

// long prints a duration in the unit an operator thinks in: days, hours, or less.
func long(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	}
	return d.String()
}

func gasChecks(g monitor.Gas, th RelayerThresholds, relayerRef string) []Check {
	var out []Check
	judge := func(name string, v *big.Int) Check {
		c := Check{Name: name, Level: OK, Value: units.FormatGwei(v) + " gwei",
			Detail: fmt.Sprintf("warning above %s gwei, critical above %s gwei", units.FormatGwei(th.GasWarn), units.FormatGwei(th.GasCrit))}
		switch {
		case th.GasCrit.Sign() > 0 && v.Cmp(th.GasCrit) > 0:
			c.Level, c.Fix = Crit, "runbook: high gas prices — review gas settings; relays cost more than planned"
		case th.GasWarn.Sign() > 0 && v.Cmp(th.GasWarn) > 0:
			c.Level, c.Fix = Warn, "review gas settings"
		}
		return c
	}
	out = append(out, judge("gas price", g.Price))
	if g.BaseFee != nil {
		out = append(out, judge("base fee", g.BaseFee))
	}
	if th.MaxFeeCap != nil && th.MaxFeeCap.Sign() > 0 && g.BaseFee != nil {
		c := Check{Name: "fee cap", Level: OK, Value: units.FormatGwei(th.MaxFeeCap) + " gwei",
			Detail: fmt.Sprintf("MAX_FEE_PER_GAS_GWEI vs base fee %s gwei", units.FormatGwei(g.BaseFee))}
		if g.BaseFee.Cmp(th.MaxFeeCap) >= 0 {
			c.Level = Crit
			c.Detail = fmt.Sprintf("base fee %s gwei is at or above MAX_FEE_PER_GAS_GWEI: relay transactions cannot be mined", units.FormatGwei(g.BaseFee))
			c.Fix = "runbook: high gas prices — increase MAX_FEE_PER_GAS_GWEI above the base fee (and speed up what is stuck: vrwxctl tx speedup --nonce N --signer " + refOr(relayerRef, "<relayer-ref>") + ")"
		}
		out = append(out, c)
	}
	return out
}

func headCheck(number uint64, at, now time.Time, th RelayerThresholds) Check {
	age := max(now.Sub(at).Truncate(time.Second), 0)
	h := Check{Name: "head", Level: OK, Value: fmt.Sprintf("#%d, %s old", number, age)}
	switch {
	case th.HeadAgeCrit > 0 && age > th.HeadAgeCrit:
		h.Level, h.Fix = Crit, "the RPC node is not following the chain: "+fixSwitchRPC
	case th.HeadAgeWarn > 0 && age > th.HeadAgeWarn:
		h.Level, h.Fix = Warn, "the RPC node may be lagging: compare with a backup RPC (--rpc-url)"
	case th.HeadAgeWarn == 0 && th.HeadAgeCrit == 0:
		h.Level, h.Detail = Info, "head age not judged on this profile"
	}
	return h
}

// RPCChecks judges every RPC URL: up, head lag behind the highest head, latency. A
// first URL that is down or lags while a backup is fine is the runbook's "RPC node
// issues": switch to the backup.
func RPCChecks(rpcs []monitor.RPC, t SystemThresholds) []Check {
	var out []Check
	var best *monitor.RPC
	for i := range rpcs {
		if rpcs[i].Up && (best == nil || rpcs[i].Lag < best.Lag) {
			best = &rpcs[i]
		}
	}
	for _, r := range rpcs {
		name := fmt.Sprintf("#%d", r.Index)
		if r.Index == 0 {
			name += " (first)"
		}
		c := Check{Name: name, Level: OK}
		switch {
		case !r.Up:
			c.Value, c.Detail = "down", withURL(r.URL, endpointText(r.URL, r.Err))
			switch {
			case best == nil && r.Index == rpcs[0].Index:
				c.Level, c.Fix = Crit, "no RPC answers: check the URLs and the network; add a backup with --rpc-url"
			case best == nil:
				c.Level = Crit
			case r.Index == 0:
				c.Level, c.Fix = Warn, fmt.Sprintf("vrwxctl fails over to %s; the API may not: %s", best.URL, fixSwitchRPC)
			default:
				c.Level, c.Fix = Warn, "this backup cannot take over: fix or replace it"
			}
		default:
			c.Value = fmt.Sprintf("head #%d, %d behind", r.Head, r.Lag)
			c.Detail = fmt.Sprintf("%s · %s", r.URL, r.Latency.Round(100*time.Microsecond))
			c.Level = above(r.Lag, t.RPCLagWarn, t.RPCLagCrit)
			if c.Level != OK {
				c.Detail += fmt.Sprintf(" · warning above %d blocks behind, critical above %d", t.RPCLagWarn, t.RPCLagCrit)
				if r.Index == 0 && best != nil && best.Index != 0 {
					c.Fix = fmt.Sprintf("the first RPC lags #%d (%s): %s", best.Index, best.URL, fixSwitchRPC)
				} else {
					c.Fix = "this RPC lags: replace it"
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func contractChecks(c *monitor.Contracts, e *monitor.Escrow) []Check {
	var out []Check
	switch {
	case c.CodeErr != nil:
		out = append(out, Check{Name: "escrow code", Level: Crit, Value: "unreadable", Detail: c.CodeErr.Error()})
	case len(c.Code) == 0:
		out = append(out, Check{Name: "escrow code", Level: Crit, Value: "no bytecode", Detail: "JobEscrow " + c.Escrow.Hex() + " has no code on this chain", Fix: fixEscrow})
	default:
		out = append(out, Check{Name: "escrow code", Level: OK, Value: fmt.Sprintf("%d bytes", len(c.Code)), Detail: "JobEscrow " + c.Escrow.Hex()})
	}
	if c.Identity != nil {
		switch {
		case c.IdentityCodeErr != nil:
			out = append(out, Check{Name: "registry code", Level: Crit, Value: "unreadable", Detail: c.IdentityCodeErr.Error()})
		case len(c.IdentityCode) == 0:
			out = append(out, Check{Name: "registry code", Level: Crit, Value: "no bytecode", Detail: "IdentityRegistry " + c.Identity.Hex() + " has no code on this chain",
				Fix: "set IDENTITY_REGISTRY_ADDRESS (or `identity`) to the registry on this chain"})
		default:
			out = append(out, Check{Name: "registry code", Level: OK, Value: fmt.Sprintf("%d bytes", len(c.IdentityCode)), Detail: "IdentityRegistry " + c.Identity.Hex()})
		}
	}
	if len(c.Code) > 0 {
		out = append(out, PausedCheck(Read{Data: c.Paused, Err: c.PausedErr}))
	}
	if e != nil && e.Err == nil && e.JobCount != nil {
		out = append(out, Check{Name: "jobCount", Level: Info, Value: e.JobCount.String()})
	}
	return out
}

// PausedCheck judges an escrow's paused() answer: a revert or empty data is "no
// pause switch" (the deployed escrow has none), true is critical.
func PausedCheck(rd Read) Check {
	for _, c := range JudgeContracts(ContractReadings{Paused: rd, Code: map[string]Read{}}) {
		if c.Name == "paused" {
			return c
		}
	}
	return Check{Name: "paused", Level: Info, Value: "unknown"}
}

func apiChecks(a *monitor.API, s System, t SystemThresholds) []Check {
	var out []Check
	if a.Health == nil {
		return append(out, Check{Name: "/health", Level: Crit, Value: "down", Detail: withURL(a.URL, brief(a.Err)),
			Fix: "runbook: the API answers 502s and relays stop — check the pods (kubectl get pods -l app=vrwx-api; kubectl logs -l app=vrwx-api --tail=100)"})
	}
	h := a.Health
	if a.Err != nil {
		out = append(out, Check{Name: "/health", Level: Crit, Value: fmt.Sprintf("status %q", h.Status), Detail: a.URL + ": " + a.Err.Error(),
			Fix: "kubectl logs -l app=vrwx-api --tail=100 says why the API is unhealthy"})
	} else {
		out = append(out, Check{Name: "/health", Level: OK, Value: "ok", Detail: a.URL})
	}
	cid := Check{Name: "chainId", Level: OK, Value: fmt.Sprint(h.ChainID), Detail: fmt.Sprintf("profile chain %d", s.ChainID)}
	if h.ChainID != s.ChainID {
		cid.Level, cid.Fix = Crit, fmt.Sprintf("the API relays on chain %d, the profile is chain %d: set the API's DEFAULT_CHAIN_ID / RPC_URL, or choose the matching --profile", h.ChainID, s.ChainID)
	}
	out = append(out, cid)
	rel := Check{Name: "relayerAddress", Level: OK}
	switch {
	case h.RelayerAddress == nil:
		rel.Level, rel.Value, rel.Detail = Info, "null", "relayMode "+h.RelayMode+": the API does not relay"
	case s.Relayer == (common.Address{}):
		rel.Level, rel.Value, rel.Detail = Info, h.RelayerAddress.Hex(), "no relayer configured to compare with"
	case s.Retired != nil && *h.RelayerAddress == s.Retired.Current:
		// A retired key is under check: the API rightly relays from the current one.
		rel.Value, rel.Detail = h.RelayerAddress.Hex(), "the store's current key; the relayer checked here is retired"
	case *h.RelayerAddress != s.Relayer:
		rel.Level, rel.Value = Crit, h.RelayerAddress.Hex()
		rel.Detail = fmt.Sprintf("the relayer checked here is %s (%s)", s.Relayer.Hex(), s.RelayerFrom)
		rel.Fix = "the API relays from another key: if the API should relay from the relayer checked here, restart it on the store's current key (kubectl rollout restart deployment/vrwx-api)"
		if strings.HasPrefix(s.RelayerFrom, "profile") {
			// An address in a profile does not follow a rotation: the API may be right.
			rel.Fix = "the profile names the relayer by address, which a rotation does not update: if the API's key is the new relayer, point the profile at its store (signer: STORE for the profile in the config file, or VRWX_SIGNER=STORE; vrwxctl status --signer STORE meanwhile); " +
				"if the API should relay from " + s.Relayer.Hex() + ", restart it on that key (kubectl rollout restart deployment/vrwx-api)"
		}
	default:
		rel.Value, rel.Detail = h.RelayerAddress.Hex(), "the relayer checked here ("+s.RelayerFrom+")"
	}
	out = append(out, rel)
	lat := Check{Name: "latency", Level: OK, Value: a.Latency.Round(100 * time.Microsecond).String(),
		Detail: fmt.Sprintf("warning above %s, critical above %s", t.APILatencyWarn, t.APILatencyCrit)}
	switch {
	case t.APILatencyCrit > 0 && a.Latency > t.APILatencyCrit:
		lat.Level, lat.Fix = Crit, "runbook: API latency — scale the API or investigate (kubectl top pods -l app=vrwx-api)"
	case t.APILatencyWarn > 0 && a.Latency > t.APILatencyWarn:
		lat.Level, lat.Fix = Warn, "runbook: API latency — scale the API or investigate"
	}
	return append(out, lat)
}

// storeCheck compares the secret store's current key with the address the API
// relays from: after `key promote` they differ until the API restarts — a rotation
// half done, which no runbook step checks.
func storeCheck(st *monitor.Store, a *monitor.API) Check {
	c := Check{Name: "current key", Detail: st.Ref}
	ref, refErr := secrets.ParseRef(st.Ref)
	writable := refErr == nil && ref.Writable() && !ref.Versioned()
	switch {
	case st.Err != nil:
		c.Level, c.Value, c.Detail = Crit, "unreadable", st.Ref+": "+st.Err.Error()
		c.Fix = "check the store's credentials and the reference"
		if writable {
			c.Fix += " (vrwxctl key versions --store " + st.Ref + ")"
		}
	case a == nil || a.Health == nil:
		c.Level, c.Value = Info, st.Address.Hex()
		c.Detail += " · not compared: the API did not answer"
	case a.Health.RelayerAddress == nil:
		c.Level, c.Value = Info, st.Address.Hex()
		c.Detail += " · the API does not relay (relayMode " + a.Health.RelayMode + ")"
	case *a.Health.RelayerAddress != st.Address:
		c.Level, c.Value = Crit, st.Address.Hex()
		c.Detail = fmt.Sprintf("%s · the API relays from %s: a rotation half done", st.Ref, a.Health.RelayerAddress.Hex())
		c.Fix = "if the new key was promoted on purpose, restart the API on it (kubectl rollout restart deployment/vrwx-api); if not, undo it: "
		if writable {
			c.Fix += "vrwxctl key rollback --store " + st.Ref
		} else {
			// An env:// reference is a copy of the key, not the store it came from:
			// a rollback there would fail. The store is the one the rotation wrote.
			c.Fix += fmt.Sprintf("roll back in the store the key comes from (%s is a read-only copy of it): vrwxctl key rollback --store STORE, with the --store the rotation was given (aws-sm://, vault://, keystore:// or file://)", st.Ref)
		}
	default:
		c.Level, c.Value = OK, st.Address.Hex()
		c.Detail += " · the API relays from it"
	}
	return c
}

// backupCheck judges the newest backup; db is the database a backup is taken of
// (DB when status was not told).
func backupCheck(b *monitor.Backup, db string, t SystemThresholds) Check {
	c := Check{Name: "newest backup", Detail: b.Location}
	switch {
	case b.Err != nil:
		c.Level, c.Value, c.Detail = Crit, "unreadable", redact.Mask(b.Location)+": "+b.Err.Error()
		c.Fix = "check the backup location and its credentials (vrwxctl db list " + redact.Mask(b.Location) + ")"
	case b.Newest == nil:
		c.Level, c.Value = Crit, "none"
		c.Fix = "no backup there: vrwxctl db backup --db " + db + " --out " + b.Location + " (and check the backup CronJob: kubectl get cronjob)"
	default:
		age := max(b.Newest.Age, 0).Truncate(time.Second)
		c.Level, c.Value = above(age, t.BackupAgeWarn, t.BackupAgeCrit), long(age)+" old"
		c.Detail = fmt.Sprintf("%s · warning above %s, critical above %s", b.Newest.Name, t.BackupAgeWarn, t.BackupAgeCrit)
		if c.Level != OK {
			c.Fix = "backups have stopped: check the CronJob (kubectl get cronjob; kubectl logs job/…), then vrwxctl db backup --db " + db + " --out " + b.Location
		}
	}
	return c
}

// above is the level of v against its warning and critical thresholds: Crit above
// crit, Warn above warn, else OK; a zero threshold is not judged.
func above[T cmp.Ordered](v, warn, crit T) Level {
	var zero T
	switch {
	case crit > zero && v > crit:
		return Crit
	case warn > zero && v > warn:
		return Warn
	}
	return OK
}

// brief is an outage's error as one line says it: an error that carries its own
// summary and fix (the local chain not running) is its summary, whose cause would
// only repeat it; anything else is said in full.
func brief(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Msg != "" && e.Fix != "" {
		return e.Msg
	}
	return errText(err)
}

// endpointText is what one RPC URL failed with: its own line of a failover client's
// error (which lists every endpoint, each said on its own line of status), or the
// error's brief.
func endpointText(url string, err error) string {
	var ee chain.EndpointErrors
	if errors.As(err, &ee) {
		if text, ok := ee.For(url); ok {
			var e *errs.Error
			if errors.As(err, &e) && e.Msg != "" && e.Fix != "" {
				if _, direct := e.Err.(chain.EndpointErrors); !direct {
					// A wrapper that says what the failures mean (the local chain
					// is not running) says it best.
					return e.Msg
				}
			}
			return text
		}
	}
	return brief(err)
}

// withURL prefixes text with the URL it is about, unless it names it already.
func withURL(url, text string) string {
	if strings.Contains(text, url) {
		return text
	}
	return url + ": " + text
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}
