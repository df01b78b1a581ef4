package chain

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// An account's recent transactions as the send guard reads them, on anvil: through
// its Otterscan index, and on a node without one (the nonce scan), with the pool
// through txpool_content (anvil) or on a node that hides its pool. Mined ones
// outside the window are left out; pending ones are always in.
func TestSentBy(t *testing.T) {
	for name, hide := range map[string][]string{
		"otterscan":          nil,
		"nonce scan":         {"ots_"},
		"no index, no pool":  {"ots_", "txpool_"},
		"otterscan, no pool": {"txpool_"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
			a := devchain.StartAnvilT(t, devchain.AnvilOptions{StartTime: start})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			from, key := devchain.DevAddress(6), devchain.DevKey(6)
			to := devchain.DevAddress(9)
			// A transfer, then an hour and a half of empty blocks, then two
			// transfers with another account's transaction to this one between.
			old, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: to, Value: big.NewInt(1)})
			if err != nil {
				t.Fatal(err)
			}
			mined := func(h common.Hash) {
				t.Helper()
				wait, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := devchain.WaitMined(wait, a.URL, h); err != nil {
					t.Fatal(err)
				}
			}
			mined(old)
			// 30 blocks 3 minutes apart.
			if err := a.RPC(ctx, nil, "anvil_mine", "0x1e", "0xb4"); err != nil {
				t.Fatal(err)
			}
			r1, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: to, Value: big.NewInt(2)})
			if err != nil {
				t.Fatal(err)
			}
			mined(r1)
			in, err := devchain.SendRawTx(ctx, a.URL, devchain.DevKey(7), devchain.RawTx{To: from, Value: big.NewInt(5)})
			if err != nil {
				t.Fatal(err)
			}
			mined(in)
			r2, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: to, Value: big.NewInt(3), Data: []byte{1, 2}, Gas: 30000})
			if err != nil {
				t.Fatal(err)
			}
			mined(r2)
			// One left in the pool.
			if err := a.RPC(ctx, nil, "evm_setAutomine", false); err != nil {
				t.Fatal(err)
			}
			p1, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: to, Value: big.NewInt(4)})
			if err != nil {
				t.Fatal(err)
			}
			url := a.URL
			if hide != nil {
				np := devchain.StartNodeProxy(t, a.URL)
				np.Disable(hide...)
				url = np.URL
			}
			c := New(Options{URLs: []string{url}, ChainID: devchain.DefaultChainID})
			defer c.Close()
			r, err := c.SentBy(ctx, from, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			got := map[common.Hash]SentTx{}
			for _, tx := range r.Txs {
				got[tx.Hash] = tx
			}
			if _, ok := got[old]; ok {
				t.Errorf("%s was mined 90 minutes before the head, outside the 1h window", old.Hex())
			}
			for _, h := range []common.Hash{r1, r2} {
				tx, ok := got[h]
				if !ok || tx.Pending || !tx.Succeeded || tx.Block == 0 || tx.Time.Before(r.Since) {
					t.Errorf("mined %s: %+v (found %v)", h.Hex(), tx, ok)
				}
			}
			if v := got[r2].Value; v == nil || v.Int64() != 3 || len(got[r2].Data) != 2 || got[r2].To == nil || *got[r2].To != to {
				t.Errorf("the transaction's intent was not read: %+v", got[r2])
			}
			_, pooled := got[p1]
			poolHidden := len(hide) > 0 && hide[len(hide)-1] == "txpool_"
			if poolHidden {
				if pooled || r.PoolKnown || len(r.Notes) == 0 {
					t.Errorf("a hidden pool must be said, not guessed: known %v, notes %v", r.PoolKnown, r.Notes)
				}
			} else if !pooled || !got[p1].Pending || !r.PoolKnown {
				t.Errorf("pending %s not read: %+v", p1.Hex(), r.Txs)
			}
			if r.NoncePending != r.NonceLatest+1 {
				t.Errorf("nonces %d/%d", r.NonceLatest, r.NoncePending)
			}
			if at, ok := r.At(r.NonceLatest-1, common.Hash{}); !ok || at.Hash != r2 {
				t.Errorf("At(%d) = %v, %v", r.NonceLatest-1, at.Hash.Hex(), ok)
			}
		})
	}
}

// An Otterscan index behind the chain (its newest entry older than the account's
// latest nonce, read twice) is not trusted: the window is read block by block,
// and the answer says so. Trusting it would hide the newest payment from the
// send guard.
func TestSentByScansWhenTheIndexIsBehind(t *testing.T) {
	t.Parallel()
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{StartTime: time.Now().Add(-time.Hour).Truncate(time.Second)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	from, key, to := devchain.DevAddress(6), devchain.DevKey(6), devchain.DevAddress(9)
	var sent []common.Hash
	var blocks []uint64
	for v := int64(1); v <= 2; v++ {
		h, err := devchain.SendRawTx(ctx, a.URL, key, devchain.RawTx{To: to, Value: big.NewInt(v)})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := devchain.WaitMined(ctx, a.URL, h)
		if err != nil {
			t.Fatal(err)
		}
		sent, blocks = append(sent, h), append(blocks, rc.BlockNumber.Uint64())
	}
	np := devchain.StartNodeProxy(t, a.URL)
	np.IndexAt(blocks[0]) // the index has the first payment, not the second
	c := New(Options{URLs: []string{np.URL}, ChainID: devchain.DefaultChainID})
	defer c.Close()
	r, err := c.SentBy(ctx, from, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range sent {
		if at, ok := r.At(uint64(i), common.Hash{}); !ok || at.Hash != h {
			t.Errorf("payment %d (%s) not found: %+v", i, h.Hex(), r.Txs)
		}
	}
	if r.Source != "scan" || len(r.Notes) == 0 || !strings.Contains(strings.Join(r.Notes, " "), "Otterscan index did not show the newest transaction") {
		t.Errorf("source %q, notes %q", r.Source, r.Notes)
	}
	// An index that has caught up is used.
	np.IndexAt(blocks[1])
	if r, err := c.SentBy(ctx, from, time.Hour); err != nil || r.Source != "otterscan" || len(r.Txs) != 2 {
		t.Errorf("an index that caught up: %v, %+v", err, r)
	}
}
