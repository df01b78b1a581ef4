package doctor

import (
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// RelayerThresholds are the runbook's "Key Metrics to Monitor" limits (configurable).
type RelayerThresholds struct {
	BalanceWarn, BalanceCrit *big.Int // wei
	GasWarn, GasCrit         *big.Int // wei per gas
	MaxFeeCap                *big.Int // MAX_FEE_PER_GAS_GWEI in wei (0 = unknown)
	HeadAgeWarn, HeadAgeCrit time.Duration
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
