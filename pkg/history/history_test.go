package history_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// account 7 starts with no transactions; it sends a transfer, a completion that
// reverts (mined: the gas limit is given, so nothing simulates it first) and another
// transfer.
func sendThree(t *testing.T, a *devchain.Anvil, d *devchain.Deployment) (ok1, failed, ok2 common.Hash) {
	t.Helper()
	ctx := context.Background()
	key := devchain.DevKey(7)
	send := func(tx devchain.RawTx) common.Hash {
		h, err := devchain.SendRawTx(ctx, a.URL, key, tx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ok1 = send(devchain.RawTx{To: d.Treasury, Value: big.NewInt(1)})
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", big.NewInt(999_999), [32]byte{1}, uint8(100), uint32(1), make([]byte, 65))
	failed = send(devchain.RawTx{To: d.Escrow, Data: data, Gas: 300_000})
	ok2 = send(devchain.RawTx{To: d.Treasury, Value: big.NewInt(2)})
	// anvil mines right after it accepts a transaction; wait until it has, and its
	// block is the latest, where the Otterscan search starts.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := devchain.WaitMined(wctx, a.URL, ok2); err != nil {
		t.Fatal(err)
	}
	return ok1, failed, ok2
}

func find(t *testing.T, url string, addr common.Address) *history.Result {
	t.Helper()
	c := chain.New(chain.Options{URLs: []string{url}, ChainID: devchain.DefaultChainID})
	defer c.Close()
	r, err := (&history.Finder{Chain: c, Address: addr, Blocks: 50}).Find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Both ways of finding the transactions — the node's Otterscan index and the nonce
// scan a node without it gets — find the same three, newest first, with the revert
// decoded to the escrow's error.
func TestFindsMinedTransactionsWithRevertReasons(t *testing.T) {
	a, d := devchain.StartT(t)
	ok1, failed, ok2 := sendThree(t, a, d)
	noOts := devchain.StartNodeProxy(t, a.URL)
	noOts.Disable("ots_")

	for _, c := range []struct{ url, source string }{{a.URL, "otterscan"}, {noOts.URL, "scan"}} {
		r := find(t, c.url, devchain.DevAddress(7))
		if r.Source != c.source {
			t.Errorf("%s: source %q", c.source, r.Source)
		}
		if len(r.Mined) != 3 || r.Mined[0].Hash != ok2 || r.Mined[1].Hash != failed || r.Mined[2].Hash != ok1 {
			t.Fatalf("%s: mined %+v, want %s %s %s", c.source, r.Mined, ok2.Hex(), failed.Hex(), ok1.Hex())
		}
		f := r.Mined[1]
		if f.State != history.Reverted || f.Revert == nil || f.Revert.Name != "JobNotFound" || f.Method() != "submitCompletionV2" {
			t.Errorf("%s: failed tx %+v (revert %+v)", c.source, f, f.Revert)
		}
		if r.Mined[0].State != history.Success || r.Mined[0].Fee.Sign() <= 0 || r.Mined[0].Nonce != 2 || r.Mined[0].Time.IsZero() {
			t.Errorf("%s: newest %+v", c.source, r.Mined[0])
		}
		if len(r.Failed()) != 1 {
			t.Errorf("%s: failed %d", c.source, len(r.Failed()))
		}
	}
}

// An Otterscan index behind the chain (it has the account's first transaction, not
// its newest) is not trusted: the window is scanned, all three are found, and the
// result says why.
func TestAnIndexBehindTheChainIsScanned(t *testing.T) {
	a, d := devchain.StartT(t)
	ok1, failed, ok2 := sendThree(t, a, d)
	rc, err := devchain.WaitMined(context.Background(), a.URL, ok1)
	if err != nil {
		t.Fatal(err)
	}
	behind := devchain.StartNodeProxy(t, a.URL)
	behind.IndexAt(rc.BlockNumber.Uint64())
	r := find(t, behind.URL, devchain.DevAddress(7))
	if r.Source != "scan" || len(r.Notes) == 0 || !strings.Contains(strings.Join(r.Notes, " "), "Otterscan index did not show the newest transaction") {
		t.Errorf("source %q, notes %q", r.Source, r.Notes)
	}
	if len(r.Mined) != 3 || r.Mined[0].Hash != ok2 || r.Mined[1].Hash != failed || r.Mined[2].Hash != ok1 {
		t.Fatalf("mined %+v, want %s %s %s", r.Mined, ok2.Hex(), failed.Hex(), ok1.Hex())
	}
}

// The limit keeps the newest transactions and says there were more.
func TestLimitKeepsNewest(t *testing.T) {
	a, d := devchain.StartT(t)
	_, _, ok2 := sendThree(t, a, d)
	noOts := devchain.StartNodeProxy(t, a.URL)
	noOts.Disable("ots_")
	for _, url := range []string{a.URL, noOts.URL} {
		c := chain.New(chain.Options{URLs: []string{url}, ChainID: devchain.DefaultChainID})
		r, err := (&history.Finder{Chain: c, Address: devchain.DevAddress(7), Limit: 1}).Find(context.Background())
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Mined) != 1 || r.Mined[0].Hash != ok2 || !r.More {
			t.Errorf("%s: %+v more=%v", r.Source, r.Mined, r.More)
		}
	}
}

// Transactions waiting in the txpool: one pending (mining is off), one queued behind
// a missing nonce. anvil has txpool_content only; a node with txpool_contentFrom is
// asked that first.
func TestPoolPendingAndQueued(t *testing.T) {
	a, d := devchain.StartT(t)
	ctx := context.Background()
	if err := a.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	key := devchain.DevKey(7)
	pending, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: d.Treasury, Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	two := uint64(2)
	queued, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: d.Treasury, Value: big.NewInt(1), Nonce: &two})
	if err != nil {
		t.Fatal(err)
	}
	r := find(t, a.URL, devchain.DevAddress(7))
	if !r.Pool.Known || len(r.Pool.Pending) != 1 || r.Pool.Pending[0].Hash != pending || len(r.Pool.Queued) != 1 || r.Pool.Queued[0].Hash != queued || r.Pool.Queued[0].Nonce != 2 {
		t.Fatalf("pool %+v", r.Pool)
	}
	if len(r.Mined) != 0 {
		t.Errorf("mined %+v", r.Mined)
	}

	hidden := devchain.StartNodeProxy(t, a.URL)
	hidden.Disable("txpool_")
	if r := find(t, hidden.URL, devchain.DevAddress(7)); r.Pool.Known || r.Pool.Err == nil {
		t.Errorf("a node without a txpool API: %+v", r.Pool)
	}
}
