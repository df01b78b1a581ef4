package wallet

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NonceOptions are the inputs of wallet nonce.
type NonceOptions struct {
	IO      *ui.IO
	Chain   func() (*chain.Client, error)
	Resolve func(ctx context.Context, address, signerRef string) (cmdutil.Account, error)
	Context func(context.Context) (context.Context, context.CancelFunc)

	Address string
	Signer  string
}

// NewCmdNonce returns `wallet nonce`.
func NewCmdNonce(f *cmdutil.Factory, runF func(context.Context, *NonceOptions) error) *cobra.Command {
	opts := &NonceOptions{IO: f.IO, Chain: f.Chain, Resolve: f.ResolveAccount, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "nonce [ADDRESS]",
		Short: "Print an account's mined and pending nonce (cast nonce, plus what is stuck)",
		Long: `Print the account's nonce at the latest block and with pending transactions, in one
round trip. When pending is ahead of latest, that many transactions are waiting in the
mempool: the runbook's "pending tx count".`,
		Example: `  # The runbook's "cast nonce $RELAYER_ADDRESS"
  vrwxctl wallet nonce 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
  vrwxctl wallet nonce --signer env://RELAYER_PRIVATE_KEY -o json`,
		Args: cmdutil.MaxArgs(1, "ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Address = args[0]
			}
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, nonceRun)
		},
	}
	cmd.Flags().StringVar(&opts.Signer, "signer", "", "signer reference whose address to read")
	return cmd
}

// NonceJSON is the -o json shape of wallet nonce.
type NonceJSON struct {
	Address string `json:"address"`
	Latest  uint64 `json:"latest"`
	Pending uint64 `json:"pending"`
	Waiting uint64 `json:"waiting"`
}

func nonceRun(ctx context.Context, opts *NonceOptions) error {
	if err := cmdutil.OneAccount(opts.Address, opts.Signer); err != nil {
		return err
	}
	acct, err := opts.Resolve(ctx, opts.Address, opts.Signer)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	b := c.NewBatch()
	latest := b.Nonce(acct.Address, chain.Latest)
	pending := b.Nonce(acct.Address, chain.Pending)
	if err := b.Do(ctx); err != nil {
		return err
	}
	if err := latest.Err(); err != nil {
		return errs.Failedf("eth_getTransactionCount %s", acct.Address.Hex()).Wrap(err)
	}
	if err := pending.Err(); err != nil {
		return errs.Failedf("eth_getTransactionCount %s pending", acct.Address.Hex()).Wrap(err)
	}
	j := NonceJSON{Address: acct.Address.Hex(), Latest: uint64(latest.Value), Pending: uint64(pending.Value)}
	if j.Pending > j.Latest {
		j.Waiting = j.Pending - j.Latest
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(j)
	}
	fmt.Fprintf(opts.IO.Out, "%d\n", j.Latest)
	if j.Waiting > 0 {
		opts.IO.Warnf("%d transaction(s) pending in the mempool (pending nonce %d); if stuck: vrwxctl tx speedup --nonce %d", j.Waiting, j.Pending, j.Latest)
	}
	return nil
}
