package robot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// GetOptions are the inputs of robot get.
type GetOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)

	Robot string
	Name  string
	DB    string
}

// NewCmdGet returns `robot get`.
func NewCmdGet(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "get [ROBOT]",
		Short: "Show a robot's controller, active flag, pubkey and metadata hash",
		Long: `Show a robot as the IdentityRegistry has it: controller, active flag, public key
and metadata hash, read in one round trip. ROBOT is the 0x bytes32 robot id; or give
--name tenantId:robotName and the id is derived as the API does
(keccak256 of the UTF-8 "tenantId:robotName").

With --db, the API database's robots row is compared with the chain: a different
controller, or a status that disagrees with the registry (active / deactivated /
not registered), is flagged and the exit code is 1.

A robot that is not registered (no controller) exits 1.`,
		Example: `  # The runbook's getController and isActive, in one line
  vrwxctl robot get 0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d

  # By the API's names, compared with the API database
  vrwxctl robot get --name tnt_1a2b3c4d:unit-01 --db /data/vrwx.db`,
		Args: cmdutil.MaxArgs(1, "ROBOT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Robot = args[0]
			}
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, getRun)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "robot by the API's tenantId:robotName instead of its id")
	cmd.Flags().StringVar(&opts.DB, "db", "", "compare with the robots row of the API's SQLite database at this path (opened read-only)")
	cmdutil.ArgsHoldHashes(cmd) // ROBOT: a robot id is a hash
	return cmd
}

// GetJSON is the -o json shape of robot get.
type GetJSON struct {
	ChainID  uint64 `json:"chainId"`
	Registry string `json:"registry"`
	RobotID  string `json:"robotId"`
	// Name is the tenantId:robotName the id was derived from (--name only).
	Name         string `json:"name,omitempty"`
	Registered   bool   `json:"registered"`
	Controller   string `json:"controller"`
	Active       bool   `json:"active"`
	Pubkey       string `json:"pubkey"`
	MetadataHash string `json:"metadataHash"`
	// DB is the comparison with the API database (--db only).
	DB *DBJSON `json:"db,omitempty"`
}

// DBJSON is the API database's view of the robot.
type DBJSON struct {
	Path         string `json:"path"`
	Found        bool   `json:"found"`
	TenantID     string `json:"tenantId,omitempty"`
	Controller   string `json:"controller,omitempty"`
	Status       string `json:"status,omitempty"`
	RegisteredTx string `json:"registeredTx,omitempty"`
	// Match is true when the row agrees with the chain on controller and status.
	Match  bool           `json:"match"`
	Checks []doctor.Check `json:"checks"`
}

// validate returns the robot id; a --db that does not exist is bad input, once a
// restore of it that was interrupted has been finished.
func (opts *GetOptions) validate(ctx context.Context) (common.Hash, error) {
	id, err := robotID(opts.Robot, opts.Name)
	if err != nil {
		return id, err
	}
	if opts.DB != "" {
		if rec, err := apidb.Recover(ctx, opts.DB, false); err != nil {
			return id, err
		} else if rec != nil {
			opts.IO.Warnf("%s", rec)
		}
		if _, err := os.Stat(opts.DB); err != nil {
			why := "cannot be read"
			if errors.Is(err, fs.ErrNotExist) {
				why = "does not exist"
			}
			return id, errs.Usagef("--db %s %s", redact.Quote(opts.DB), why).WithFix("give the path of the API's vrwx.db (DATABASE_PATH)")
		}
	}
	return id, nil
}

func getRun(ctx context.Context, opts *GetOptions) error {
	id, err := opts.validate(ctx)
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	// The configured registry, else the escrow's identity(), read in the same round trip.
	registry, ok, err := cmdutil.OptionalAddress(cfg, "identity")
	if err != nil {
		return err
	}
	var escrow common.Address
	if !ok {
		var eok bool
		if escrow, eok, err = cmdutil.OptionalAddress(cfg, "escrow"); err != nil {
			return err
		}
		if !eok {
			return errs.Usagef("profile %q has no IdentityRegistry address (and no escrow to ask for it)", cfg.Profile).
				WithFix("set IDENTITY_REGISTRY_ADDRESS, or `identity` in the profile of the config file")
		}
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := vrwx.ReadRobot(ctx, c, escrow, registry, id)
	if errors.Is(err, vrwx.ErrNoRegistry) {
		return errs.Failedf("the escrow's identity() is unreadable and no IdentityRegistry is configured").
			WithFix("set IDENTITY_REGISTRY_ADDRESS, or check the escrow (vrwxctl contracts check)")
	}
	if err != nil {
		return err
	}
	if r.ControllerErr != nil {
		return errs.Failedf("IdentityRegistry %s: getController(%s)", r.Registry.Hex(), id.Hex()).Wrap(r.ControllerErr).
			WithFix("check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)")
	}
	if r.ActiveErr != nil {
		return errs.Failedf("IdentityRegistry %s: isActive(%s)", r.Registry.Hex(), id.Hex()).Wrap(r.ActiveErr)
	}
	out := GetJSON{ChainID: c.ChainID(), Registry: r.Registry.Hex(), RobotID: id.Hex(), Name: opts.Name,
		Registered: r.Controller != (common.Address{}), Controller: r.Controller.Hex(), Active: r.Active, Pubkey: "0x", MetadataHash: common.Hash{}.Hex()}
	if r.RobotErr != nil {
		opts.IO.Warnf("getRobot(%s) unreadable (%v): pubkey and metadata hash unknown", id.Hex(), r.RobotErr)
	} else {
		out.Pubkey = hexutil.Encode(r.Robot.Pubkey)
		out.MetadataHash = common.Hash(r.Robot.MetadataHash).Hex()
		if r.Robot.Controller != r.Controller || r.Robot.Active != r.Active {
			opts.IO.Warnf("getRobot disagrees with getController/isActive: %s/%v vs %s/%v", r.Robot.Controller.Hex(), r.Robot.Active, r.Controller.Hex(), r.Active)
		}
	}
	if opts.DB != "" {
		if out.DB, err = compareDB(ctx, opts.DB, out); err != nil {
			return err
		}
	}

	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		render(opts.IO, out)
	}
	switch {
	case !out.Registered:
		opts.IO.Warnf("robot %s is not registered in IdentityRegistry %s (no controller)", id.Hex(), r.Registry.Hex())
		return errs.Exit(errs.Failed)
	case out.DB != nil && !out.DB.Match:
		return errs.Exit(errs.Failed)
	}
	return nil
}

// compareDB reads the robot's row from the API database and judges it against the
// registry's view.
func compareDB(ctx context.Context, path string, chainView GetJSON) (*DBJSON, error) {
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		return nil, errs.Failedf("open the API database %s", redact.Mask(path)).Wrap(err)
	}
	defer db.Close()
	row, found, err := apidb.ReadRobot(ctx, db, chainView.RobotID)
	if err != nil {
		return nil, errs.Failedf("read the robots table of %s", path).Wrap(err).
			WithFix("is it the API's vrwx.db? (vrwxctl db verify checks the schema)")
	}
	out := &DBJSON{Path: path, Checks: doctor.RobotRowChecks(row, found, doctor.RobotOnChain{
		ID: chainView.RobotID, Registered: chainView.Registered, Active: chainView.Active, Controller: chainView.Controller})}
	if found {
		out.Found, out.TenantID, out.Controller, out.Status, out.RegisteredTx = true, row.TenantID, row.Controller, row.Status, row.RegisteredTx
	}
	out.Match = doctor.Worst(out.Checks) == doctor.OK
	return out, nil
}

func render(io *ui.IO, out GetJSON) {
	s := io.Styles()
	w := io.Out
	state := s.OK.Render("active")
	switch {
	case !out.Registered:
		state = s.Crit.Render("not registered")
	case !out.Active:
		state = s.Warn.Render("deactivated")
	}
	fmt.Fprintf(w, "%s %s  %s  %s\n", s.Bold.Render("ROBOT"), out.RobotID, state,
		s.Faint.Render(fmt.Sprintf("registry %s · chain %d", out.Registry, out.ChainID)))
	row := func(k, v string) { fmt.Fprintf(w, "  %-13s %s\n", k, v) }
	if out.Name != "" {
		row("name", out.Name)
	}
	row("controller", out.Controller)
	row("active", fmt.Sprint(out.Active))
	row("pubkey", out.Pubkey)
	row("metadataHash", out.MetadataHash)
	if out.DB != nil {
		fmt.Fprintf(w, "%s %s\n", s.Bold.Render("API DATABASE"), s.Faint.Render(out.DB.Path))
		io.RenderChecks(out.DB.Checks)
	}
}
