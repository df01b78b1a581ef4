package wallet

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// BalanceOptions are the inputs of wallet balance.
type BalanceOptions struct {
	IO      *ui.IO
	Chain   func() (*chain.Client, error)
	Resolve func(ctx context.Context, address, signerRef string) (cmdutil.Account, error)
	Context func(context.Context) (context.Context, context.CancelFunc)

	Address string
	Signer  string
	Block   string
	Wei     bool
	Ether   bool
}

// NewCmdBalance returns `wallet balance`.
func NewCmdBalance(f *cmdutil.Factory, runF func(context.Context, *BalanceOptions) error) *cobra.Command {
	opts := &BalanceOptions{IO: f.IO, Chain: f.Chain, Resolve: f.ResolveAccount, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "balance [ADDRESS]",
		Short: "Print an account's ETH balance (cast balance, in ETH and wei)",
		Long: `Print the ETH balance of ADDRESS, or of the account behind --signer, in ETH and wei.
With no argument and no --signer, the profile's relayer is used.`,
		Example: `  # The runbook's "cast balance $RELAYER_ADDRESS"
  vrwxctl wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC

  # The account behind a signer reference (the key is never printed)
  vrwxctl wallet balance --signer env://RELAYER_PRIVATE_KEY

  # Bare wei for a script, like cast
  vrwxctl wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --wei`,
		Args: cmdutil.MaxArgs(1, "ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Address = args[0]
			}
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, balanceRun)
		},
	}
	cmd.Flags().StringVar(&opts.Signer, "signer", "", "signer reference whose address to read (env://VAR, file:///path, …)")
	cmd.Flags().StringVar(&opts.Block, "block", "latest", "block: latest, pending, or a number")
	cmd.Flags().BoolVar(&opts.Wei, "wei", false, "print only the balance in wei")
	cmd.Flags().BoolVar(&opts.Ether, "ether", false, "print only the balance in ETH")
	return cmd
}

// BalanceJSON is the -o json shape of wallet balance.
type BalanceJSON struct {
	Address string `json:"address"`
	Wei     string `json:"wei"`
	Ether   string `json:"ether"`
	Block   uint64 `json:"block"`
	ChainID uint64 `json:"chainId"`
}

// validate checks the flag combinations and the block before anything is read.
func (opts *BalanceOptions) validate() (chain.Block, error) {
	if opts.Wei && opts.Ether {
		return "", errs.Usagef("--wei and --ether both given (choose one)")
	}
	if err := cmdutil.OneAccount(opts.Address, opts.Signer); err != nil {
		return "", err
	}
	return cmdutil.ParseBlock(opts.Block)
}

func balanceRun(ctx context.Context, opts *BalanceOptions) error {
	at, err := opts.validate()
	if err != nil {
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
	bal := b.Balance(acct.Address, at)
	head := b.Header(at)
	if err := b.Do(ctx); err != nil {
		return err
	}
	if err := bal.Err(); err != nil {
		return errs.Failedf("eth_getBalance %s", acct.Address.Hex()).Wrap(err)
	}
	var number uint64
	if head.Err() == nil && head.Value != nil {
		number = uint64(head.Value.Number)
	}
	return printBalance(opts, acct.Address, bal.Value.ToInt(), number, c.ChainID())
}

func printBalance(opts *BalanceOptions, addr common.Address, wei *big.Int, block, chainID uint64) error {
	switch {
	case opts.IO.JSONOutput():
		return opts.IO.WriteJSON(BalanceJSON{Address: addr.Hex(), Wei: wei.String(), Ether: units.FormatEther(wei), Block: block, ChainID: chainID})
	case opts.Wei:
		fmt.Fprintln(opts.IO.Out, wei.String())
	case opts.Ether:
		fmt.Fprintln(opts.IO.Out, units.FormatEther(wei))
	default:
		s := opts.IO.Styles()
		fmt.Fprintf(opts.IO.Out, "%s  %s ETH  %s\n", addr.Hex(), s.Bold.Render(units.FormatEther(wei)), s.Faint.Render("("+wei.String()+" wei)"))
	}
	return nil
}
