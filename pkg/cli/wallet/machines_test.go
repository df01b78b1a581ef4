package wallet_test

// Safe from any machine: each clitest Env.Machine() is another host — its own
// state directory (audit log, send locks), nothing shared but the chain and the
// keys — so what stops a second payment here is the chain, not a local file.

import (
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// The broadcast's answer is lost on one machine and every endpoint then goes quiet
// (exit 4, "MAY have been sent"); the operator runs the same command on another
// machine: the chain shows the payment, so it is refused naming it. Paid once.
func TestLostAnswerThenRerunOnAnotherMachine(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	args := []string{"wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "6s"}
	p.Inject(sendMethod, devchain.ForwardThenDrop, 1)
	p.AfterForward(sendMethod, func() { p.Inject("", devchain.Hang, -1) })
	r := e.Run(args...)
	hashes := sentHashes(t, e)
	if r.Code != 4 || len(hashes) != 1 || !strings.Contains(r.Stderr, "MAY have been sent") {
		t.Fatalf("first machine: want exit 4 with one sent hash (%v):\n%s", hashes, r)
	}
	p.Clear()
	p.AfterForward(sendMethod, func() {})
	waitReceipt(t, e, hashes[0])

	other := e.Machine()
	r = other.Run(args...)
	if r.Code != 3 || !strings.Contains(r.Stderr, hashes[0]) || !strings.Contains(r.Stderr, "mined in block") ||
		!strings.Contains(r.Stderr, "vrwxctl tx wait "+hashes[0]) || !strings.Contains(r.Stderr, "--new-payment") {
		t.Fatalf("the other machine must refuse naming %s, how it ended and tx wait:\n%s", hashes[0], r)
	}
	if len(sentHashes(t, other)) != 0 {
		t.Fatalf("the other machine signed and sent: %+v", auditEntries(t, other))
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
		t.Fatalf("recipient gained %s wei, want one payment", got)
	}
}

// The same command from shell history: refused (exit 3) however its first run
// ended, on this machine and on another; --new-payment pays and says which earlier
// payment it knew of.
func TestIdenticalRerunRefusedAndNewPaymentPays(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	args := []string{"wallet", "fund", "--to", to.Hex(), "--amount", "0.5ether", "--signer", "env://TREASURY_KEY", "--yes"}
	var first wallet.FundJSON
	e.MustRun(0, append(args, "-o", "json")...).JSON(t, &first)
	for _, m := range []*clitest.Env{e, e.Machine()} {
		r := m.MustRun(3, args...)
		for _, want := range []string{"the same payment", first.TxHash, "mined in block", "this run sends nothing", "vrwxctl tx wait " + first.TxHash, "--new-payment"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("refusal lacks %q:\n%s", want, r)
			}
		}
	}
	// Under -o json a script gets the refusal as its one document.
	r := e.MustRun(3, append(args, "-o", "json")...)
	if !strings.Contains(r.Stdout, `"kind"`) || !strings.Contains(r.Stdout, first.TxHash) {
		t.Errorf("json refusal:\n%s", r)
	}
	var again wallet.FundJSON
	r = e.Machine().MustRun(0, append(args, "--new-payment", "-o", "json")...)
	r.JSON(t, &again)
	if len(again.EarlierPayments) != 1 || again.EarlierPayments[0] != first.TxHash || !strings.Contains(r.Stderr, "new, separate payment") {
		t.Fatalf("--new-payment should say which payment it knew of (%v):\n%s", again.EarlierPayments, r)
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e18)) != 0 {
		t.Fatalf("recipient gained %s wei, want two payments of 0.5 ETH", got)
	}
}

// Four identical `wallet fund` started at the same moment on four machines: the
// chain holds one payment; every run reports that payment or refuses naming it.
// Twenty rounds, in-process runs against one anvil. In half of them each machine
// has its own priority-fee cap, so the four transactions differ and three lose the
// nonce race at the node; in the others they are the same bytes.
func TestFourMachinesSendTheSamePaymentAtOnce(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	machines := make([]*clitest.Env, 4)
	for i := range machines {
		machines[i] = e.Machine()
	}
	counts := map[string]int{}
	for round := range 20 {
		to := common.BigToAddress(big.NewInt(int64(0x5000 + round)))
		before := balanceOf(t, e, to)
		results := make([]clitest.Result, len(machines))
		var wg sync.WaitGroup
		for i, m := range machines {
			if round%2 == 1 {
				m.Vars["MAX_PRIORITY_FEE_GWEI"] = fmt.Sprintf("0.%d", i+1)
			} else {
				delete(m.Vars, "MAX_PRIORITY_FEE_GWEI")
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = m.Run("wallet", "fund", "--to", to.Hex(), "--amount", "1gwei", "--signer", "env://TREASURY_KEY", "--yes", "-o", "json", "--timeout", "60s")
			}()
		}
		wg.Wait()
		if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e9)) != 0 {
			t.Fatalf("round %d: recipient gained %s wei, want exactly one payment:\n%v", round, got, results)
		}
		paidHash := ""
		for _, r := range results {
			if r.Code == 0 {
				var j wallet.FundJSON
				r.JSON(t, &j)
				if paidHash != "" && j.TxHash != paidHash {
					t.Fatalf("round %d: two runs report different payments %s and %s", round, paidHash, j.TxHash)
				}
				paidHash = j.TxHash
			}
		}
		for _, r := range results {
			switch {
			case r.Code == 0:
				counts["reported the payment"]++
			case r.Code == 3 && paidHash != "" && strings.Contains(r.Stdout, paidHash) && strings.Contains(r.Stdout, "tx wait "+paidHash):
				if strings.Contains(r.Stdout, "made by another run") {
					counts["lost the nonce race"]++
				} else {
					counts["refused before signing"]++
				}
			default:
				t.Fatalf("round %d: want exit 0 (the payment) or exit 3 naming it (%s):\n%s", round, paidHash, r)
			}
		}
	}
	t.Logf("outcomes over 80 runs: %v", counts)
}
