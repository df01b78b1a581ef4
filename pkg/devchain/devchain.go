// Package devchain runs the local VRWX chain that vrwxctl's tests, benchmarks and
// `make devchain` use: it finds and starts anvil, deploys the Solidity test doubles
// compiled from testdata/contracts (artifacts embedded from ./artifacts), and seeds
// robots and jobs in every status through the contracts' real lifecycle.
//
// It is test support, not part of the shipped CLI's logic. The keys it holds are the
// public anvil/Hardhat development keys (mnemonic "test test ... junk"); they guard
// nothing and are never written into a Deployment.
package devchain

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Roles of anvil's default dev accounts in a Deployment (index into DevKey).
const (
	AccountAdmin                 = 0 // deployer and admin of every contract
	AccountTreasury              = 1 // receives settlement fees
	AccountRelayer               = 2 // sends submitCompletionV2, as the API's relayer does
	AccountBuyer                 = 3 // creates and funds the seeded jobs
	AccountActiveController      = 4 // controller of the "active" robot
	AccountDeactivatedController = 5 // controller of the "deactivated" robot
	FirstFreeAccount             = 6 // accounts 6..9 are left untouched for tests
	DevAccounts                  = 10
)

// Addresses a fresh anvil gets from Deploy: contracts created by account 0 at nonces
// 0, 1, 2 and 3.
var (
	LocalToken          = common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	LocalIdentity       = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	LocalEscrow         = common.HexToAddress("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
	LocalPausableEscrow = common.HexToAddress("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9")
)

// DefaultChainID is anvil's chain id, the spec's "local" network.
const DefaultChainID uint64 = 31337

// devKeys are anvil's default accounts 0..9. Public test keys, known to every
// Ethereum developer; hard-coding them is the point.
var devKeys = [DevAccounts]string{
	"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
	"8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
	"92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
	"4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
	"dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
	"2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
}

// DevKey returns anvil's dev account i (0..9). It panics on any other index: that is a
// bug in the calling test, not a runtime condition.
func DevKey(i int) *ecdsa.PrivateKey {
	checkIndex(i)
	k, err := crypto.HexToECDSA(devKeys[i])
	if err != nil {
		panic(fmt.Sprintf("devchain: dev key %d does not parse: %v", i, err))
	}
	return k
}

// DevKeyHex returns dev account i's key as 0x-prefixed hex, the form env:// and
// file:// signer references read.
func DevKeyHex(i int) string {
	checkIndex(i)
	return "0x" + devKeys[i]
}

// DevAddress returns dev account i's address.
func DevAddress(i int) common.Address {
	return crypto.PubkeyToAddress(DevKey(i).PublicKey)
}

func checkIndex(i int) {
	if i < 0 || i >= DevAccounts {
		panic(fmt.Sprintf("devchain: dev account %d out of range 0..%d", i, DevAccounts-1))
	}
}

// Tenant is the API tenant the seeded robots belong to.
const Tenant = "tenant-demo"

// RobotID derives a robot id the way the API does: keccak256(utf8("<tenant>:<name>")).
func RobotID(tenant, name string) common.Hash {
	return crypto.Keccak256Hash([]byte(tenant + ":" + name))
}
