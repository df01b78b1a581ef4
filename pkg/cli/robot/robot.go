// Package robot implements `vrwxctl robot`: a robot as the IdentityRegistry has it,
// optionally against the API database's row (get), and the diagnosis of a
// completion signature (verify-sig) — the runbook's getController / isActive
// checks and its "Signature Verification Failures" investigation.
package robot

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// NewCmdRobot returns the `robot` group.
func NewCmdRobot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "robot",
		Short: "Robots in the IdentityRegistry: get one, diagnose a completion signature",
	}
	cmd.AddCommand(NewCmdGet(f, nil), NewCmdVerifySig(f, nil))
	return cmd
}

// robotID turns ROBOT or --name into a robot id.
func robotID(arg, name string) (common.Hash, error) {
	switch {
	case arg != "" && name != "":
		return common.Hash{}, errs.Usagef("both ROBOT and --name given (choose one)")
	case arg != "":
		return cmdutil.ParseBytes32("ROBOT", arg)
	case name != "":
		tenant, robot, ok := strings.Cut(name, ":")
		if !ok || tenant == "" || robot == "" {
			return common.Hash{}, errs.Usagef("--name %s is not tenantId:robotName (expected e.g. tnt_1a2b3c4d:unit-01)", redact.Quote(name))
		}
		return vrwx.RobotIDFromName(name), nil
	}
	return common.Hash{}, errs.Usagef("no robot given: pass ROBOT (0x + 64 hex) or --name tenantId:robotName")
}
