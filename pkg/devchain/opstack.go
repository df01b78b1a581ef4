package devchain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// OP-stack predeploys (the OP specs' fixed addresses).
var (
	GasPriceOracleAddress = common.HexToAddress("0x420000000000000000000000000000000000000F")
	L1BlockAddress        = common.HexToAddress("0x4200000000000000000000000000000000000015")
)

// OPStackFees are the L1 fee parameters an OP-stack chain reads from its L1Block
// predeploy (Ecotone/Fjord formula).
type OPStackFees struct {
	L1BaseFee         *big.Int // wei
	BlobBaseFee       *big.Int // wei
	BaseFeeScalar     uint32
	BlobBaseFeeScalar uint32
}

// BaseLikeFees are numbers of the kind Base mainnet runs with: its published scalars
// (2269 and 1055762), a 16 gwei L1 base fee and a 1 gwei blob base fee. A plain
// transfer then pays about 1.6e11 wei of L1 data fee.
var BaseLikeFees = OPStackFees{
	L1BaseFee:         big.NewInt(16_000_000_000),
	BlobBaseFee:       big.NewInt(1_000_000_000),
	BaseFeeScalar:     2269,
	BlobBaseFeeScalar: 1_055_762,
}

// OPStackBaseFee is the L2 base fee an OP-stack dev chain starts with: 0.01 gwei,
// Base-like, so the L1 data fee is not lost in the rounding of L2 gas.
const OPStackBaseFee = 10_000_000

// ErrOPArtifactsNotFound is wrapped when @eth-optimism/contracts-bedrock is not
// installed under tools/node_modules.
var ErrOPArtifactsNotFound = errors.New("OP-stack contract artifacts not found")

// OPArtifactsDir is the forge-artifacts directory of the npm package
// @eth-optimism/contracts-bedrock that scripts/tools.sh installs.
func OPArtifactsDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "tools", "node_modules", "@eth-optimism", "contracts-bedrock", "forge-artifacts")
	if _, err := os.Stat(filepath.Join(dir, "GasPriceOracle.sol", "GasPriceOracle.json")); err != nil {
		return "", fmt.Errorf("%w in %s: run scripts/tools.sh", ErrOPArtifactsNotFound, dir)
	}
	return dir, nil
}

// opArtifact is the part of a forge artifact the set-up reads.
type opArtifact struct {
	DeployedBytecode struct {
		Object string `json:"object"`
	} `json:"deployedBytecode"`
	StorageLayout struct {
		Storage []struct {
			Label  string `json:"label"`
			Slot   string `json:"slot"`
			Offset int    `json:"offset"`
		} `json:"storage"`
	} `json:"storageLayout"`
}

func loadOPArtifact(dir, name string) (*opArtifact, error) {
	p := filepath.Join(dir, name+".sol", name+".json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var a opArtifact
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode %s: %w", p, err)
	}
	if a.DeployedBytecode.Object == "" {
		return nil, fmt.Errorf("%s has no deployed bytecode", p)
	}
	return &a, nil
}

// storage is a contract's storage being assembled word by word from its layout.
type storage struct {
	layout *opArtifact
	words  map[uint64]*big.Int
}

// set places value (already in the field's width) at label's slot and byte offset.
func (s *storage) set(label string, value *big.Int) error {
	for _, v := range s.layout.StorageLayout.Storage {
		if v.Label != label {
			continue
		}
		slot, err := strconv.ParseUint(v.Slot, 10, 64)
		if err != nil {
			return fmt.Errorf("storage layout: slot %q of %s: %w", v.Slot, label, err)
		}
		w, ok := s.words[slot]
		if !ok {
			w = new(big.Int)
			s.words[slot] = w
		}
		w.Or(w, new(big.Int).Lsh(value, uint(8*v.Offset)))
		return nil
	}
	return fmt.Errorf("storage layout has no %s", label)
}

func (s *storage) write(ctx context.Context, a *Anvil, addr common.Address) error {
	for slot, w := range s.words {
		if err := a.RPC(ctx, nil, "anvil_setStorageAt", addr, hexutil.EncodeUint64(slot), common.BigToHash(w)); err != nil {
			return err
		}
	}
	return nil
}

// EnableOPStackFees makes an anvil started with --network optimism charge L1 data
// fees as an OP-stack chain after Fjord does: the real GasPriceOracle and L1Block
// bytecode from @eth-optimism/contracts-bedrock go to their predeploy addresses,
// L1Block gets fees, and the oracle's Ecotone and Fjord flags are set, each at the
// slot and offset the artifacts' storage layout names.
//
// On this anvil an eth_call also pays the L1 fee from its sender, so a call from the
// zero address (what a read-only call is when it names no sender) fails with
// "insufficient funds". Real OP-stack nodes charge no L1 fee in eth_call; the set-up
// gives the zero address 1 ETH so reads behave as they do on Base, instead of
// vrwxctl inventing senders for its reads.
func EnableOPStackFees(ctx context.Context, a *Anvil, fees OPStackFees) error {
	dir, err := OPArtifactsDir()
	if err != nil {
		return err
	}
	oracle, err := loadOPArtifact(dir, "GasPriceOracle")
	if err != nil {
		return err
	}
	block, err := loadOPArtifact(dir, "L1Block")
	if err != nil {
		return err
	}
	for addr, art := range map[common.Address]*opArtifact{GasPriceOracleAddress: oracle, L1BlockAddress: block} {
		if err := a.RPC(ctx, nil, "anvil_setCode", addr, art.DeployedBytecode.Object); err != nil {
			return err
		}
	}
	gs := &storage{layout: oracle, words: map[uint64]*big.Int{}}
	for _, flag := range []string{"isEcotone", "isFjord"} {
		if err := gs.set(flag, big.NewInt(1)); err != nil {
			return fmt.Errorf("GasPriceOracle %w", err)
		}
	}
	if err := gs.write(ctx, a, GasPriceOracleAddress); err != nil {
		return err
	}
	bs := &storage{layout: block, words: map[uint64]*big.Int{}}
	for label, v := range map[string]*big.Int{
		"basefee":           fees.L1BaseFee,
		"blobBaseFee":       fees.BlobBaseFee,
		"baseFeeScalar":     new(big.Int).SetUint64(uint64(fees.BaseFeeScalar)),
		"blobBaseFeeScalar": new(big.Int).SetUint64(uint64(fees.BlobBaseFeeScalar)),
	} {
		if err := bs.set(label, v); err != nil {
			return fmt.Errorf("L1Block %w", err)
		}
	}
	if err := bs.write(ctx, a, L1BlockAddress); err != nil {
		return err
	}
	if err := a.RPC(ctx, nil, "anvil_setBalance", common.Address{}, hexutil.EncodeBig(big.NewInt(1e18))); err != nil {
		return err
	}
	// The storage writes take effect from the next block.
	return a.Mine(ctx)
}

// StartOPStackT is StartT on an OP-stack anvil (--network optimism, Base-like 0.01
// gwei base fee) that charges Base-like L1 data fees once the VRWX contracts are
// deployed. Without anvil or the OP artifacts it skips, or fails under $CI.
func StartOPStackT(t testing.TB) (*Anvil, *Deployment) {
	t.Helper()
	RequireOPArtifacts(t)
	a, d := StartTWith(t, AnvilOptions{Args: []string{"--network", "optimism", "--block-base-fee-per-gas", strconv.Itoa(OPStackBaseFee)}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnableOPStackFees(ctx, a, BaseLikeFees); err != nil {
		t.Fatalf("enable OP-stack fees: %v", err)
	}
	return a, d
}

// RequireOPArtifacts returns the OP artifacts directory, or skips the test (fails it
// under $CI) when @eth-optimism/contracts-bedrock is not installed.
func RequireOPArtifacts(t testing.TB) string {
	t.Helper()
	return requireTool(t, "@eth-optimism/contracts-bedrock", func() (string, error) {
		dir, err := OPArtifactsDir()
		if errors.Is(err, ErrOPArtifactsNotFound) {
			return "", fmt.Errorf("%w: %w", ErrToolNotFound, err)
		}
		return dir, err
	})
}
