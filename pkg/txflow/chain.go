package txflow

import (
	"context"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
)

// Chain is what the send path asks of the chain: *chain.Client in the program; a
// test gives a fake to drive the flow's decisions without a node.
type Chain interface {
	ChainID() uint64
	// URL is the endpoint in use, for the summary.
	URL() string
	Account(ctx context.Context, a common.Address) (*chain.AccountState, error)
	BalanceAt(ctx context.Context, a common.Address, at chain.Block) (*big.Int, error)
	Prepare(ctx context.Context, req chain.TxRequest) (*chain.Prepared, error)
	// PrepareSend is Prepare with the sender's recent transactions (pool, and mined
	// within window) read in the same batch as its nonce: one snapshot.
	PrepareSend(ctx context.Context, req chain.TxRequest, window time.Duration) (*chain.Prepared, *chain.Recent, error)
	// SentBy reads an account's recent transactions (pool, and mined within window).
	SentBy(ctx context.Context, from common.Address, window time.Duration) (*chain.Recent, error)
	SendRaw(ctx context.Context, signed *types.Transaction) (common.Hash, error)
	Reconcile(ctx context.Context, h common.Hash, from common.Address) *chain.Reconciliation
	ReconcileSettled(ctx context.Context, h common.Hash, from common.Address) *chain.Reconciliation
	WaitMined(ctx context.Context, h common.Hash, poll time.Duration, progress func(elapsed time.Duration)) (*chain.Receipt, error)
	TransactionByHash(ctx context.Context, h common.Hash) (*chain.TxInfo, error)
	PendingFrom(ctx context.Context, from common.Address) ([]*chain.TxInfo, error)
}

var _ Chain = (*chain.Client)(nil)

// Client is the flow's chain client, for the reads a caller makes beside its send
// on the same endpoints (a completion's checks); nil when the flow runs on a fake.
func (f *Flow) Client() *chain.Client {
	c, _ := f.Chain.(*chain.Client)
	return c
}
