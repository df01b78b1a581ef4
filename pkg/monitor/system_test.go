package monitor_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
)

// What status and doctor read besides the exporter's metrics: the escrow's code and
// pause switch, the txpool, the spend window and the store's key as the relayer —
// in two chain round trips, the second only once the store answered.
func TestSystemReadsInTwoRoundTrips(t *testing.T) {
	a, d := devchain.StartTWith(t, devchain.AnvilOptions{History: true}) // spend reads a past block
	ctx := context.Background()
	if _, err := devchain.Transact(ctx, a.URL, devchain.DevKey(devchain.AccountAdmin), d.PausableEscrow, devchain.ContractPausableEscrow, "pause"); err != nil {
		t.Fatal(err)
	}
	relayer := devchain.DevAddress(7)
	// Spend: one transfer of 1 ETH mined, then mining stops; one transaction waits
	// and one is queued behind a missing nonce.
	if _, err := devchain.SendRawTx(ctx, a.URL, devchain.DevKey(7), devchain.RawTx{To: d.Treasury, Value: big.NewInt(1e18)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := devchain.SendRawTx(ctx, a.URL, devchain.DevKey(7), devchain.RawTx{To: d.Treasury, Value: big.NewInt(1)}); err != nil {
		t.Fatal(err)
	}
	three := uint64(3)
	if _, err := devchain.SendRawTx(ctx, a.URL, devchain.DevKey(7), devchain.RawTx{To: d.Treasury, Value: big.NewInt(1), Nonce: &three}); err != nil {
		t.Fatal(err)
	}

	proxy := monitortest.NewProxy(t, a.URL)
	r := reader([]string{proxy.URL}, nil)
	r.Escrow, r.Identity, r.Contracts, r.Pools = &d.PausableEscrow, &d.Identity, true, true
	r.SpendBlocks = []uint64{1_000_000, 10}
	r.Signer = func(context.Context) (common.Address, error) { return relayer, nil }
	r.SignerRef, r.RelayerIsSigner = "env://RELAYER_KEY", true
	got := r.Read(ctx)

	if got.Rounds != 2 || proxy.Requests() != 2 {
		t.Errorf("rounds %d, HTTP requests %d; want 2 and 2", got.Rounds, proxy.Requests())
	}
	c := got.Contracts
	if c == nil || c.CodeErr != nil || len(c.Code) == 0 || c.PausedErr != nil || new(big.Int).SetBytes(c.Paused).Int64() != 1 || len(c.IdentityCode) == 0 {
		t.Fatalf("contracts %+v", c)
	}
	if got.Store == nil || got.Store.Address != relayer || got.Store.Ref != "env://RELAYER_KEY" {
		t.Fatalf("store %+v", got.Store)
	}
	if len(got.Relayers) != 1 || got.Relayers[0].Address != relayer {
		t.Fatalf("relayers %+v", got.Relayers)
	}
	rl := got.Relayers[0]
	if rl.Err != nil || rl.NonceLatest != 1 || rl.NoncePending != 2 {
		t.Fatalf("relayer %+v", rl)
	}
	if rl.Pool == nil || !rl.Pool.Known || len(rl.Pool.Pending) != 1 || len(rl.Pool.Queued) != 1 || rl.Pool.Queued[0].Nonce != 3 {
		t.Fatalf("pool %+v", rl.Pool)
	}
	// The longest window reaches back to block 0, before the transfer.
	if rl.Spend == nil || rl.Spend.Block != 0 || rl.Spend.Nonce != 0 || rl.Spend.Balance.Cmp(new(big.Int).Add(rl.Balance, big.NewInt(1e18))) <= 0 {
		t.Fatalf("spend %+v (now %s), err %v", rl.Spend, rl.Balance, rl.SpendErr)
	}
}
