package key_test

import (
	"context"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// A whole rotation with each store, through the real binary: the plan, then the
// seven steps; the new key is current in the store, its wallet holds exactly the
// amount, the API restarted onto it (the deploy command ran without a shell), the
// old wallet is at exactly 0, the journal is complete — and no key appears in any
// output or in the journal (clitest scans both).
func TestRotateWithEachStore(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"aws-sm", "vault", "file", "keystore"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := clitest.NewChain(t)
			w := newWorld(t, e, kind)
			r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd(), "--reason", "CHG-1234")...)
			if r.Code != 0 {
				t.Fatalf("rotate:\n%s", r)
			}
			j := journal(t, r)
			w.checkRotated(j, ether(1, 10))
			if j.Drain.ActualLeftoverWei != "0" || j.Drain.ExpectedLeftoverWei != "0" {
				t.Fatalf("drain %+v: an L1 chain leaves exactly 0", j.Drain)
			}
			if w.api.Restarts() != 1 {
				t.Fatalf("the deploy command restarted the API %d times, want once", w.api.Restarts())
			}
			for _, want := range []string{"Key rotation plan", "1 generate", "7 drain", j.Old.Address, "0.1 ETH", "step 7/7 drain", "complete"} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
				}
			}
			// The journal on disk: mode 0600, the same content, the version ids that
			// name both keys, the transaction hashes.
			files := journalFiles(t, e)
			if len(files) != 1 {
				t.Fatalf("journals %v", files)
			}
			fi, _ := os.Stat(files[0])
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("journal mode %v", fi.Mode().Perm())
			}
			disk, err := rotation.LoadJournal(files[0])
			if err != nil || disk.Status != rotation.StatusComplete || disk.New != j.New || disk.Old != j.Old || disk.Reason != "CHG-1234" {
				t.Fatalf("journal on disk %+v (%v)", disk, err)
			}
			if j.Old.VersionID == "" || j.New.VersionID == "" || !strings.Contains(j.Old.Ref, "version=") ||
				len(j.Step(rotation.StepFund).TxHashes) != 1 || j.Drain.TxHash == "" {
				t.Fatalf("journal lacks versions or hashes: %+v", j)
			}
			// The old key is still in the store, as its previous version: the
			// reference the journal names reads it.
			r = e.Exec("key", "address", "--signer", j.Old.Ref)
			if r.Code != 0 || strings.TrimSpace(r.Stdout) != w.old.Hex() {
				t.Fatalf("key address --signer %s:\n%s", j.Old.Ref, r)
			}
			r = e.Exec("key", "address", "--signer", w.ref+sep(w.ref)+"stage=previous")
			if r.Code != 0 || strings.TrimSpace(r.Stdout) != w.old.Hex() {
				t.Fatalf("?stage=previous:\n%s", r)
			}
			// (A keystore's current key is now under go-ethereum's standard scrypt
			// cost, seconds per read here; checkRotated read its address already.)
			if kind != "keystore" && common.HexToAddress(strings.TrimSpace(e.Exec("key", "address", "--signer", w.ref).Stdout)).Hex() != j.New.Address {
				t.Fatalf("key address of the store is not the new key")
			}
		})
	}
}

// sep is the separator before the next query parameter of ref.
func sep(ref string) string {
	if strings.Contains(ref, "?") {
		return "&"
	}
	return "?"
}

// On the OP-stack dev chain (L1 data fees charged as on Base) the drain reserves
// the L1-fee bound: the old wallet keeps exactly the leftover the journal reports,
// which is the expected one (bound − quote; 0 here, where the bound the oracle
// gives equals the fee charged), the L1 fee is really paid, and the new wallet
// holds exactly the amount.
func TestRotateOnOPStack(t *testing.T) {
	t.Parallel()
	e := clitest.NewOPStackChain(t)
	w := newWorld(t, e, "file")
	r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 0 {
		t.Fatalf("rotate:\n%s", r)
	}
	j := journal(t, r)
	w.checkRotated(j, ether(1, 10))
	left := w.balance(w.old)
	if j.Drain.ActualLeftoverWei != left.String() || j.Drain.ExpectedLeftoverWei != j.Drain.ActualLeftoverWei {
		t.Fatalf("old wallet keeps %s wei; the journal says expected %s, actual %s", left, j.Drain.ExpectedLeftoverWei, j.Drain.ActualLeftoverWei)
	}
	// What the old wallet lost beyond the value moved and the L2 gas is the L1
	// data fee: the OP-stack path was in effect.
	var rc struct {
		GasUsed           hexutil.Uint64 `json:"gasUsed"`
		EffectiveGasPrice hexutil.Big    `json:"effectiveGasPrice"`
	}
	if err := e.Anvil.RPC(context.Background(), &rc, "eth_getTransactionReceipt", j.Drain.TxHash); err != nil {
		t.Fatal(err)
	}
	value, _ := new(big.Int).SetString(j.Drain.ValueWei, 10)
	l1 := new(big.Int).Sub(ether(1, 1), value)
	l1.Sub(l1, new(big.Int).Mul(new(big.Int).SetUint64(uint64(rc.GasUsed)), rc.EffectiveGasPrice.ToInt())).Sub(l1, left)
	if l1.Sign() <= 0 || !strings.Contains(r.Stderr, "L1 fee") {
		t.Fatalf("the drain paid %s wei of L1 fee; the OP-stack fee path was not in effect", l1)
	}
	t.Logf("OP-stack drain: L1 fee paid %s wei; leftover %s wei (expected %s)", l1, j.Drain.ActualLeftoverWei, j.Drain.ExpectedLeftoverWei)
}
