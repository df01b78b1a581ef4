// Package wallet implements `vrwxctl wallet`: balances now; funding and draining
// with the shared send path.
package wallet

import (
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
)

// NewCmdWallet returns the `wallet` group.
func NewCmdWallet(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Relayer and treasury wallets: balance, nonce, history, fund, drain",
	}
	cmd.AddCommand(NewCmdBalance(f, nil), NewCmdNonce(f, nil), NewCmdFund(f, nil), NewCmdDrain(f, nil), NewCmdHistory(f, nil))
	return cmd
}
