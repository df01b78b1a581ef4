// Package vrwx is the VRWX protocol as vrwxctl speaks it: the ABIs of JobEscrow and
// IdentityRegistry from the protocol spec, job status names, the custom errors with
// the runbook's causes and fixes, and the EIP-712 CompletionClaimV2.
package vrwx

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
)

//go:embed abi/*.json
var abiFiles embed.FS

// ABIs are parsed on first use, not at start-up: `vrwxctl --help` must stay instant.
var (
	EscrowABI   = lazyABI("JobEscrow")
	RegistryABI = lazyABI("IdentityRegistry")
	ERC20ABI    = lazyABI("ERC20")
	PausableABI = lazyABI("Pausable")
)

func lazyABI(name string) func() *abi.ABI {
	return sync.OnceValue(func() *abi.ABI {
		data, err := abiFiles.ReadFile("abi/" + name + ".json")
		if err != nil {
			panic(fmt.Sprintf("vrwx: embedded ABI %s missing: %v", name, err))
		}
		a, err := abi.JSON(bytes.NewReader(data))
		if err != nil {
			panic(fmt.Sprintf("vrwx: embedded ABI %s does not parse: %v", name, err))
		}
		return &a
	})
}

// Pack encodes a call to method of a; the arguments are the caller's own values, so a
// failure is a programming error reported as such.
func Pack(a *abi.ABI, method string, args ...any) []byte {
	data, err := a.Pack(method, args...)
	if err != nil {
		panic(fmt.Sprintf("vrwx: pack %s: %v", method, err))
	}
	return data
}
