package tx_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/tx"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// submitCalldata is submitCompletionV2 for the FUNDED job, signed by its controller;
// highS makes the signature the malleable form OpenZeppelin refuses.
func submitCalldata(t *testing.T, e *clitest.Env, highS bool) []byte {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), e.D, e.D.Jobs[devchain.JobFunded], crypto.Keccak256Hash([]byte("manifest:revert")), 100, 12,
		devchain.DevKey(devchain.AccountActiveController), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	sig := append([]byte{}, c.Signature...)
	if highS {
		s := new(big.Int).Sub(crypto.S256().Params().N, new(big.Int).SetBytes(sig[32:64]))
		copy(sig[32:64], common.LeftPadBytes(s.Bytes(), 32))
		sig[64] = 55 - sig[64]
	}
	return vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(c.JobID), [32]byte(c.CompletionHash), c.QualityScore, c.WorkUnits, sig)
}

// sendRaw sends a transaction from an unlocked dev account with a fixed gas limit,
// so the node mines it even though it reverts.
func sendRaw(t *testing.T, e *clitest.Env, from int, data []byte) common.Hash {
	t.Helper()
	var h common.Hash
	req := map[string]any{"from": devchain.DevAddress(from).Hex(), "to": e.D.Escrow.Hex(), "data": hexutil.Encode(data), "gas": "0x493e0"}
	if err := e.Anvil.RPC(context.Background(), &h, "eth_sendTransaction", req); err != nil {
		t.Fatal(err)
	}
	return h
}

// mined waits until the node has h's receipt: anvil answers eth_sendTransaction
// before the receipt of the block it mines is readable.
func mined(t *testing.T, e *clitest.Env, h common.Hash) common.Hash {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var r map[string]any
		if err := e.Anvil.RPC(context.Background(), &r, "eth_getTransactionReceipt", h); err != nil {
			t.Fatal(err)
		}
		if r != nil {
			return h
		}
	}
	t.Fatalf("no receipt for %s", h.Hex())
	return h
}

// A mined transaction that reverted shows its decoded revert reason, learnt by
// replaying its call on the state of the block before it.
func TestStatusOfRevertedTransactionShowsItsReason(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	h := mined(t, e, sendRaw(t, e, devchain.AccountRelayer, submitCalldata(t, e, true)))
	var out tx.StatusJSON
	r := e.Run("tx", "status", h.Hex(), "-o", "json")
	if r.Code != 1 {
		t.Fatalf("a reverted transaction: want exit 1:\n%s", r)
	}
	r.JSON(t, &out)
	rv := out.Revert
	if out.State != "reverted" || rv == nil || !rv.Reproduced || rv.Error == nil || rv.Error.Name != "ECDSAInvalidSignatureS" ||
		len(rv.Error.Args) != 1 || !strings.HasPrefix(rv.Error.Args[0], "s=0x") || rv.Error.Fix == "" || rv.ReplayedOnBlock != out.Receipt.Block-1 ||
		!strings.HasPrefix(rv.Data, "0xd78bce0c") {
		t.Fatalf("revert of %s: %+v / %+v", h.Hex(), out, rv)
	}
	r = e.Run("tx", "status", h.Hex())
	if r.Code != 1 || !strings.Contains(r.Stdout, "reverted with ECDSAInvalidSignatureS(s=0x") || !strings.Contains(r.Stdout, "high-s") ||
		!strings.Contains(r.Stdout, "fix:") || !strings.Contains(r.Stdout, fmt.Sprintf("replaying the call on block %d's state", out.Receipt.Block-1)) {
		t.Errorf("text:\n%s", r)
	}
	// A successful transaction has no revert section.
	ok := mined(t, e, sendRaw(t, e, devchain.AccountRelayer, submitCalldata(t, e, false)))
	var okOut tx.StatusJSON
	e.MustRun(0, "tx", "status", ok.Hex(), "-o", "json").JSON(t, &okOut)
	if okOut.State != "success" || okOut.Revert != nil {
		t.Errorf("successful transaction: %+v", okOut)
	}
}

// When an earlier transaction in the same block is what made it revert, the replay
// on the parent block's state succeeds: tx status says so instead of inventing a
// reason.
func TestStatusOfRevertCausedByAnEarlierTransactionInItsBlock(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	ctx := context.Background()
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	data := submitCalldata(t, e, false)
	first := sendRaw(t, e, devchain.AccountRelayer, data)
	second := sendRaw(t, e, devchain.FirstFreeAccount, data)
	if err := e.Anvil.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	mined(t, e, second)
	e.MustRun(0, "tx", "status", first.Hex())
	var out tx.StatusJSON
	r := e.MustRun(1, "tx", "status", second.Hex(), "-o", "json")
	r.JSON(t, &out)
	if rv := out.Revert; out.State != "reverted" || rv == nil || rv.Reproduced || rv.Error != nil || !strings.Contains(rv.Note, "earlier transaction") {
		t.Fatalf("second of two identical completions in one block: %+v / %+v", out, out.Revert)
	}
}
