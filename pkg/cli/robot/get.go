package robot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/shared"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
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
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return getRun(ctx, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "robot by the API's tenantId:robotName instead of its id")
	cmd.Flags().StringVar(&opts.DB, "db", "", "compare with the robots row of the API's SQLite database at this path (opened read-only)")
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

// registryOf returns the registry to ask: the configured one, else the escrow's
// identity(), read inside the same program.
func registryOf(cfg *config.Config, p *vrwx.Program) (vrwx.Operand, *vrwx.Step, error) {
	reg, ok, err := shared.Optional(cfg, "identity")
	if err != nil {
		return vrwx.Operand{}, nil, err
	}
	if ok {
		return vrwx.ConstAddress(reg), nil, nil
	}
	escrow, eok, err := shared.Optional(cfg, "escrow")
	if err != nil {
		return vrwx.Operand{}, nil, err
	}
	if !eok {
		return vrwx.Operand{}, nil, errs.Usagef("profile %q has no IdentityRegistry address (and no escrow to ask for it)", cfg.Profile).
			WithFix("set IDENTITY_REGISTRY_ADDRESS, or `identity` in the profile of the config file")
	}
	step := p.Call(vrwx.ConstAddress(escrow), vrwx.Pack(vrwx.EscrowABI(), "identity"), 1)
	return step.Word(0), step, nil
}

// robotWords is how much of getRobot's answer the one-round-trip read keeps: the
// tuple head, a pubkey of up to 128 bytes, and its length.
const robotWords = 10

func getRun(ctx context.Context, opts *GetOptions) error {
	id, err := robotID(opts.Robot, opts.Name)
	if err != nil {
		return err
	}
	if opts.DB != "" {
		// A restore of the database that was interrupted is finished first.
		if rec, err := apidb.Recover(ctx, opts.DB, false); err != nil {
			return err
		} else if rec != nil {
			opts.IO.Warnf("%s", rec)
		}
		if _, err := os.Stat(opts.DB); err != nil {
			return errs.Usagef("--db %s: %v", opts.DB, err).WithFix("give the path of the API's vrwx.db (DATABASE_PATH)")
		}
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	var p vrwx.Program
	reg, identStep, err := registryOf(cfg, &p)
	if err != nil {
		return err
	}
	robotStep := p.Call(reg, vrwx.Selector(vrwx.RegistryABI(), "getRobot"), robotWords, vrwx.Const(id.Bytes()))
	ctlStep := p.Call(reg, vrwx.Selector(vrwx.RegistryABI(), "getController"), 1, vrwx.Const(id.Bytes()))
	actStep := p.Call(reg, vrwx.Selector(vrwx.RegistryABI(), "isActive"), 1, vrwx.Const(id.Bytes()))

	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := vrwx.RunProgram(ctx, c, &p, "latest")
	if err != nil {
		return err
	}
	registry := common.Address{}
	if identStep != nil {
		w := res[identStep.Index()].Word(0)
		if w == nil {
			return errs.Failedf("the escrow's identity() is unreadable and no IdentityRegistry is configured").
				WithFix("set IDENTITY_REGISTRY_ADDRESS, or check the escrow (vrwxctl contracts check)")
		}
		registry = common.BytesToAddress(w)
	} else {
		registry, _, _ = shared.Optional(cfg, "identity")
	}
	ctl, err := decodeAddressStep(res[ctlStep.Index()])
	if err != nil {
		return errs.Failedf("IdentityRegistry %s: getController(%s)", registry.Hex(), id.Hex()).Wrap(err).
			WithFix("check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)")
	}
	active, err := decodeBoolStep(res[actStep.Index()])
	if err != nil {
		return errs.Failedf("IdentityRegistry %s: isActive(%s)", registry.Hex(), id.Hex()).Wrap(err)
	}
	out := GetJSON{ChainID: c.ChainID(), Registry: registry.Hex(), RobotID: id.Hex(), Name: opts.Name,
		Registered: ctl != (common.Address{}), Controller: ctl.Hex(), Active: active, Pubkey: "0x", MetadataHash: common.Hash{}.Hex()}
	robot, err := readRobot(ctx, c, registry, id, res[robotStep.Index()])
	if err != nil {
		opts.IO.Warnf("getRobot(%s) unreadable (%v): pubkey and metadata hash unknown", id.Hex(), err)
	} else {
		out.Pubkey = hexutil.Encode(robot.Pubkey)
		out.MetadataHash = robot.MetadataHash.Hex()
		if robot.Controller != ctl || robot.Active != active {
			opts.IO.Warnf("getRobot disagrees with getController/isActive: %s/%v vs %s/%v", robot.Controller.Hex(), robot.Active, ctl.Hex(), active)
		}
	}
	if opts.DB != "" {
		db, err := compareDB(ctx, opts.DB, id, out)
		if err != nil {
			return err
		}
		out.DB = db
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
		opts.IO.Warnf("robot %s is not registered in IdentityRegistry %s (no controller)", id.Hex(), registry.Hex())
		return errs.Exit(errs.Failed)
	case out.DB != nil && !out.DB.Match:
		return errs.Exit(errs.Failed)
	}
	return nil
}

// readRobot decodes getRobot from the program, or reads it alone when the pubkey was
// longer than the program kept.
func readRobot(ctx context.Context, c *chain.Client, registry common.Address, id common.Hash, r vrwx.StepResult) (*vrwx.Robot, error) {
	if r.OK && r.Size <= len(r.Data) {
		return vrwx.DecodeRobot(r.Data)
	}
	b := c.NewBatch()
	call := b.Call(registry, vrwx.Pack(vrwx.RegistryABI(), "getRobot", id), chain.Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := call.Err(); err != nil {
		return nil, err
	}
	return vrwx.DecodeRobot(call.Value)
}

func decodeAddressStep(r vrwx.StepResult) (common.Address, error) {
	switch {
	case !r.OK:
		return common.Address{}, stepFailure(r)
	case r.Size == 0:
		return common.Address{}, errors.New("no data returned: no contract at that address")
	}
	return vrwx.DecodeAddress(r.Data)
}

func decodeBoolStep(r vrwx.StepResult) (bool, error) {
	switch {
	case !r.OK:
		return false, stepFailure(r)
	case r.Size == 0:
		return false, errors.New("no data returned: no contract at that address")
	}
	return vrwx.DecodeBool(r.Data)
}

func stepFailure(r vrwx.StepResult) error {
	if ce := vrwx.DecodeCallError(r.Err); ce != nil {
		return ce
	}
	if r.Err != nil {
		return r.Err
	}
	return errors.New("reverted")
}

// dbStatusMeaning maps the API's robots.status to what the registry should say:
// "active" means registered and active, "pending" not yet registered, anything else
// (deactivated, suspended, revoked, …) registered but inactive.
func dbStatusMeaning(status string) (registered, active bool) {
	switch strings.ToLower(status) {
	case "active":
		return true, true
	case "pending":
		return false, false
	}
	return true, false
}

func compareDB(ctx context.Context, path string, id common.Hash, chainView GetJSON) (*DBJSON, error) {
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		return nil, errs.Failedf("open the API database %s", path).Wrap(err)
	}
	defer db.Close()
	var tenant, controller, st string
	var regTx sql.NullString
	err = db.QueryRowContext(ctx, `SELECT tenant_id, controller_address, status, registered_tx FROM robots WHERE lower(robot_id) = lower(?)`, id.Hex()).
		Scan(&tenant, &controller, &st, &regTx)
	out := &DBJSON{Path: path, Checks: []doctor.Check{}}
	add := func(c doctor.Check) { c.Section = "database"; out.Checks = append(out.Checks, c) }
	switch {
	case errors.Is(err, sql.ErrNoRows):
		add(doctor.Check{Name: "row", Level: doctor.Crit, Value: "missing",
			Detail: "the API database has no robots row for " + id.Hex(),
			Fix:    "check the robot id (or --name) and the database path; the API only relays for robots it knows"})
		return out, nil
	case err != nil:
		return nil, errs.Failedf("read the robots table of %s", path).Wrap(err).
			WithFix("is it the API's vrwx.db? (vrwxctl db verify checks the schema)")
	}
	out.Found, out.TenantID, out.Controller, out.Status, out.RegisteredTx = true, tenant, controller, st, regTx.String
	add(doctor.Check{Name: "row", Level: doctor.OK, Value: "tenant " + tenant})
	if strings.EqualFold(controller, chainView.Controller) {
		add(doctor.Check{Name: "controller", Level: doctor.OK, Value: controller, Detail: "same as the registry"})
	} else {
		add(doctor.Check{Name: "controller", Level: doctor.Crit, Value: controller,
			Detail: "the registry's controller is " + chainView.Controller,
			Fix:    "the API verifies signatures against its row: update the row to the registry's controller, or rotate the registry to the robot's key"})
	}
	wantReg, wantActive := dbStatusMeaning(st)
	chainState := "not registered"
	switch {
	case chainView.Registered && chainView.Active:
		chainState = "registered, active"
	case chainView.Registered:
		chainState = "registered, deactivated"
	}
	if wantReg == chainView.Registered && (!wantReg || wantActive == chainView.Active) {
		add(doctor.Check{Name: "status", Level: doctor.OK, Value: st, Detail: "registry: " + chainState})
	} else {
		add(doctor.Check{Name: "status", Level: doctor.Crit, Value: st,
			Detail: "the registry says " + chainState,
			Fix:    "bring the API's robots.status in line with the IdentityRegistry (vrwxctl robot get shows the chain's view)"})
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
		status.RenderChecks(io, out.DB.Checks)
	}
}
