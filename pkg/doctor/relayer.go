package doctor

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// RelayerThresholds are the runbook's "Key Metrics to Monitor" limits (configurable).
type RelayerThresholds struct {
	BalanceWarn, BalanceCrit *big.Int // wei
	GasWarn, GasCrit         *big.Int // wei per gas
	MaxFeeCap                *big.Int // MAX_FEE_PER_GAS_GWEI in wei (0 = unknown)
	HeadAgeWarn, HeadAgeCrit time.Duration
}

// RelayerReadings are what one batched round trip returns about the relayer.
type RelayerReadings struct {
	Address      common.Address
	Balance      *big.Int
	NonceLatest  uint64
	NoncePending uint64
	GasPrice     *big.Int
	BaseFee      *big.Int // nil before London
	HeadNumber   uint64
	HeadTime     time.Time
	Now          time.Time
	// SignerRef is the reference the relayer was resolved from ("" for --address).
	SignerRef string
	// Retired is set when the address is a version of the relayer's key store that
	// is no longer current (a rotation retired it): it is never suggested for
	// funding.
	Retired *Retired
}

// Retired says which retired key an address belongs to.
type Retired struct {
	// Store is the key store; Version the retired version's id in it.
	Store, Version string
	// Current is the address of the store's current key (the relayer now).
	Current common.Address
	// Ref reads exactly the retired version (a drain signs with it).
	Ref string
}

// RelayerChecks judges the readings against the thresholds.
func RelayerChecks(r RelayerReadings, t RelayerThresholds) []Check {
	var out []Check
	add := func(c Check) { c.Section = "relayer"; out = append(out, c) }

	bal := Check{Name: "balance", Value: units.FormatEther(r.Balance) + " ETH", Level: OK,
		Detail: fmt.Sprintf("warning below %s ETH, critical below %s ETH", units.FormatEther(t.BalanceWarn), units.FormatEther(t.BalanceCrit))}
	topUp := fmt.Sprintf("top up the relayer: vrwxctl wallet fund --to %s --amount 0.5ether --signer <treasury-ref>", r.Address.Hex())
	switch {
	case r.Retired != nil:
		// A rotation retired this key: an empty wallet is its expected end, and
		// money sent to it would fund a key nothing should use.
		bal.Level = Info
		bal.Detail = fmt.Sprintf("retired relayer: version %s of %s is no longer current (the relayer runs on %s); do not fund it",
			r.Retired.Version, r.Retired.Store, r.Retired.Current.Hex())
		if r.Balance.Sign() > 0 {
			bal.Fix = "return what is left to the treasury: vrwxctl wallet drain --signer " + r.Retired.Ref
		}
	case r.Balance.Cmp(t.BalanceCrit) < 0:
		bal.Level, bal.Fix = Crit, "top up immediately — "+topUp
	case r.Balance.Cmp(t.BalanceWarn) < 0:
		bal.Level, bal.Fix = Warn, topUp
	}
	add(bal)

	n := Check{Name: "nonce", Level: OK, Value: fmt.Sprintf("latest %d, pending %d", r.NonceLatest, r.NoncePending)}
	if r.NoncePending > r.NonceLatest {
		waiting := r.NoncePending - r.NonceLatest
		n.Level = Warn
		n.Detail = fmt.Sprintf("%d transaction(s) waiting in the mempool (nonces %d..%d)", waiting, r.NonceLatest, r.NoncePending-1)
		n.Fix = fmt.Sprintf("if they stay stuck: vrwxctl tx speedup --nonce %d --signer <relayer-ref> (or tx cancel)", r.NonceLatest)
	} else {
		n.Detail = "no transactions waiting"
	}
	add(n)

	g := Check{Name: "gas price", Level: OK, Value: units.FormatGwei(r.GasPrice) + " gwei",
		Detail: fmt.Sprintf("warning above %s gwei, critical above %s gwei", units.FormatGwei(t.GasWarn), units.FormatGwei(t.GasCrit))}
	switch {
	case r.GasPrice.Cmp(t.GasCrit) > 0:
		g.Level, g.Fix = Crit, "review gas settings; relays cost more than planned"
	case r.GasPrice.Cmp(t.GasWarn) > 0:
		g.Level, g.Fix = Warn, "review gas settings"
	}
	add(g)

	if t.MaxFeeCap != nil && t.MaxFeeCap.Sign() > 0 && r.BaseFee != nil {
		c := Check{Name: "fee cap", Level: OK, Value: units.FormatGwei(t.MaxFeeCap) + " gwei",
			Detail: fmt.Sprintf("MAX_FEE_PER_GAS_GWEI vs base fee %s gwei", units.FormatGwei(r.BaseFee))}
		if r.BaseFee.Cmp(t.MaxFeeCap) >= 0 {
			c.Level = Crit
			c.Detail = fmt.Sprintf("base fee %s gwei is at or above MAX_FEE_PER_GAS_GWEI: relay transactions will not be mined", units.FormatGwei(r.BaseFee))
			c.Fix = "increase MAX_FEE_PER_GAS_GWEI (runbook: high gas prices)"
		}
		add(c)
	}

	age := r.Now.Sub(r.HeadTime).Truncate(time.Second)
	if age < 0 {
		age = 0
	}
	h := Check{Name: "chain head", Level: OK, Value: fmt.Sprintf("#%d, %s old", r.HeadNumber, age)}
	switch {
	case t.HeadAgeCrit > 0 && age > t.HeadAgeCrit:
		h.Level, h.Fix = Crit, "the RPC node is not following the chain: switch to a backup RPC (--rpc-url)"
	case t.HeadAgeWarn > 0 && age > t.HeadAgeWarn:
		h.Level, h.Fix = Warn, "the RPC node may be lagging: compare with a backup RPC (--rpc-url)"
	case t.HeadAgeWarn == 0 && t.HeadAgeCrit == 0:
		h.Level, h.Detail = Info, "head age not judged on this profile"
	}
	add(h)
	return out
}
