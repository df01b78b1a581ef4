package key_test

import (
	"context"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// sendFromOld signs and sends a transfer from the old relayer key at nonce, as
// the API (or an attacker holding the key) would, and returns its hash.
func (w *world) sendFromOld(to common.Address, value *big.Int, nonce uint64, tip, feeCap *big.Int) common.Hash {
	w.t.Helper()
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: new(big.Int).SetUint64(devchain.DefaultChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: 21000, To: &to, Value: value})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(tx.ChainId()), w.oldKey)
	if err != nil {
		w.t.Fatal(err)
	}
	raw, _ := signed.MarshalBinary()
	var h common.Hash
	if err := w.e.Anvil.RPC(context.Background(), &h, "eth_sendRawTransaction", hexutil.Encode(raw)); err != nil {
		w.t.Fatal(err)
	}
	return h
}

func (w *world) receiptBlock(h string) (uint64, bool) {
	w.t.Helper()
	var rc *struct {
		BlockNumber hexutil.Uint64 `json:"blockNumber"`
	}
	if err := w.e.Anvil.RPC(context.Background(), &rc, "eth_getTransactionReceipt", h); err != nil {
		w.t.Fatal(err)
	}
	if rc == nil {
		return 0, false
	}
	return uint64(rc.BlockNumber), true
}

// A compromised key whose account already has a transaction pending (here an
// attacker's transfer of half the balance, not yet mined): --emergency promotes
// the new key at once, drains the old wallet FIRST — taking the pending
// transaction's nonce with higher fees, so the node drops it — and only then funds
// the new wallet, restarts the API and verifies it; the follow-ups close it.
func TestEmergencyRotationBeatsAPendingTransaction(t *testing.T) {
	t.Parallel()
	e := clitest.NewChainWith(t, devchain.AnvilOptions{NoMining: true})
	proxy := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = proxy.URL
	w := newWorld(t, e, "aws-sm")
	attacker := common.HexToAddress("0x00000000000000000000000000000000bAdBAD00")
	stolen := w.sendFromOld(attacker, ether(1, 2), 0, big.NewInt(1e9), big.NewInt(3e9))
	// Blocks are mined only when vrwxctl's own broadcasts reach the node, so the
	// attacker's transaction is still pending when the drain goes out.
	var sends atomic.Int32
	proxy.AfterForward("eth_sendRawTransaction", func() {
		sends.Add(1)
		_ = e.Anvil.Mine(context.Background())
	})
	r := e.Exec(w.rotateArgs("--emergency", "--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 0 {
		t.Fatalf("emergency rotate:\n%s", r)
	}
	j := journal(t, r)
	w.checkRotated(j, ether(1, 10))
	if j.Mode != rotation.Emergency || strings.Join(stepNames(j), ",") != "generate,promote,drain,fund,deploy,verify" {
		t.Fatalf("mode %s steps %v", j.Mode, stepNames(j))
	}
	// The drain replaced the attacker's transaction and was mined before the
	// funding.
	if j.Drain.ReplacedTx != stolen.Hex() || j.Drain.ReplacedNonce == nil || *j.Drain.ReplacedNonce != 0 {
		t.Fatalf("drain %+v, want it to replace %s at nonce 0", j.Drain, stolen.Hex())
	}
	if _, mined := w.receiptBlock(stolen.Hex()); mined || w.balance(attacker).Sign() != 0 {
		t.Fatalf("the attacker's transaction was mined (attacker holds %s wei)", w.balance(attacker))
	}
	drainBlock, ok1 := w.receiptBlock(j.Drain.TxHash)
	fundBlock, ok2 := w.receiptBlock(j.Step(rotation.StepFund).TxHashes[0])
	if !ok1 || !ok2 || drainBlock >= fundBlock {
		t.Fatalf("drain in block %d, fund in block %d: the drain must come first", drainBlock, fundBlock)
	}
	if w.nonce(w.old) != 1 || w.balance(w.old).Sign() != 0 || sends.Load() != 2 {
		t.Fatalf("old nonce %d balance %s, %d sends", w.nonce(w.old), w.balance(w.old), sends.Load())
	}
	for _, want := range []string{"EMERGENCY", "replaces " + stolen.Hex(), "investigate the breach", "notify affected parties"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if n := strings.Join(j.Next, "\n"); !strings.Contains(n, "investigate") || !strings.Contains(n, "notify") {
		t.Fatalf("journal next %v", j.Next)
	}
}

func stepNames(j rotation.Journal) []string {
	var out []string
	for _, s := range j.Steps {
		out = append(out, s.Name)
	}
	return out
}
