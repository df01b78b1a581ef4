// Package doctor implements `vrwxctl doctor`: the runbook's incident
// investigations automated — relay transaction failures and signature verification
// failures — each ending with the likely causes and the runbook's fix for each.
package doctor

import (
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
)

// NewCmdDoctor returns the `doctor` group.
func NewCmdDoctor(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "The runbook's incident investigations, automated: relay failures, signature failures",
	}
	cmd.AddCommand(NewCmdRelay(f, nil), NewCmdSignature(f, nil))
	return cmd
}
