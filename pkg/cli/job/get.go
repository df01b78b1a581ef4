package job

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// GetOptions are the inputs of job get.
type GetOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	ID string
}

// NewCmdGet returns `job get`.
func NewCmdGet(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show one job by name, with its robot's controller and the price in token units",
		Long: `Show every field of the escrow's jobs(ID) by name: the status by name, the price in
the settlement token's units (decimals read from the escrow's token) and raw, the
deadline and settleAfter in UTC and relative to now, a V2 job's service type
(jobServiceTypes, named when it is the hash of inspection, security_patrol or
delivery), and the robot's controller and active flag from the IdentityRegistry.

All of it is read in one round trip: a single eth_call runs the dependent reads
(the job, then its robot) on the node, with no contract deployed.

A job that does not exist (zero buyer) is an error (exit 1).`,
		Example: `  # The runbook's "cast call $JOB_ESCROW_ADDRESS jobs(uint256)(…) $JOB_ID"
  vrwxctl job get 42 --profile base-mainnet

  # As JSON, for a script
  vrwxctl job get 42 -o json | jq -r .job.status`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, getRun)
		},
	}
	return cmd
}

// GetJSON is the -o json shape of job get.
type GetJSON struct {
	ChainID uint64  `json:"chainId"`
	Escrow  string  `json:"escrow"`
	Job     JobJSON `json:"job"`
	// ServiceType is the job's jobServiceTypes(id); null when the escrow did not
	// answer it.
	ServiceType *ServiceTypeJSON `json:"serviceType"`
	// Token is the escrow's settlement token; null when it could not be read.
	Token *TokenJSON `json:"token"`
	Robot RobotJSON  `json:"robot"`
}

// ServiceTypeJSON is a job's service type: the hash a V2 job was created with (zero
// for a job created without one), and its name when it is one of the API's.
type ServiceTypeJSON struct {
	Hash string `json:"hash"`
	Name string `json:"name,omitempty"`
	// Set is false for the zero hash: a job created without a service type (V1).
	Set bool `json:"set"`
}

// TokenJSON is the settlement token.
type TokenJSON struct {
	Address  string `json:"address"`
	Symbol   string `json:"symbol"`
	Decimals uint8  `json:"decimals"`
}

// RobotJSON is the job's robot as the IdentityRegistry has it.
type RobotJSON struct {
	Registry   string `json:"registry"`
	Controller string `json:"controller"`
	Registered bool   `json:"registered"`
	Active     bool   `json:"active"`
	// Error says why the registry could not be read ("" when it was).
	Error string `json:"error,omitempty"`
}

func getRun(ctx context.Context, opts *GetOptions) error {
	id, err := cmdutil.ParseUint256("job id", opts.ID)
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ct, err := cmdutil.ContractsOf(cfg)
	if err != nil {
		return err
	}
	escrow, registry := ct.Escrow, ct.Identity
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	var head *chain.Head
	extra := []rpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head}}
	r, err := vrwx.ReadJob(ctx, c, escrow, registry, id, extra...)
	if err != nil {
		return readError(err, escrow, c.ChainID(), id.String())
	}
	if !r.Job.Exists() {
		count := "unknown"
		if r.JobCount != nil {
			count = r.JobCount.String()
		}
		return errs.Failedf("job %s does not exist on escrow %s (jobCount is %s)", id, escrow.Hex(), count).
			WithFix("job ids run from 1 to jobCount; check the id and the profile's escrow (vrwxctl config view)")
	}
	var headTime uint64
	if extra[0].Error == nil && head != nil {
		headTime = uint64(head.Time)
	}
	now := vrwx.Now(opts.Now(), headTime)

	decimals := -1
	var token *TokenJSON
	if r.TokenErr == nil && r.DecimalsErr == nil {
		decimals = int(r.Decimals)
		token = &TokenJSON{Address: r.Token.Hex(), Symbol: r.Symbol, Decimals: r.Decimals}
	} else {
		opts.IO.Warnf("settlement token unreadable (%v): the price is shown raw only", firstErr(r.TokenErr, r.DecimalsErr))
	}
	robot := RobotJSON{Registry: r.Registry.Hex(), Controller: r.Controller.Hex(), Registered: r.ControllerErr == nil && r.Controller != (common.Address{}), Active: r.Active}
	if e := firstErr(r.ControllerErr, r.ActiveErr); e != nil {
		robot.Error = e.Error()
		opts.IO.Warnf("IdentityRegistry %s unreadable: %v", r.Registry.Hex(), e)
	}
	out := GetJSON{ChainID: c.ChainID(), Escrow: escrow.Hex(), Job: toJSON(r.Job, decimals, now), Token: token, Robot: robot}
	if r.ServiceTypeErr == nil {
		out.ServiceType = &ServiceTypeJSON{Hash: r.ServiceType.Hex(), Name: vrwx.ServiceTypeName(r.ServiceType), Set: r.ServiceType != (common.Hash{})}
	} else {
		opts.IO.Debugf("jobServiceTypes(%s) unreadable: %v", id, r.ServiceTypeErr)
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	renderJob(opts.IO, r.Job, out, now)
	return nil
}

// readError turns a failure to read the job into the operator's terms.
func readError(err error, escrow common.Address, chainID uint64, id string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, vrwx.ErrNoJobData) {
		return errs.Failedf("escrow %s answered jobs(%s) with no data: there is no JobEscrow at that address on chain %d", escrow.Hex(), id, chainID).
			WithFix("check JOB_ESCROW_ADDRESS / the profile's escrow (vrwxctl contracts check)")
	}
	return errs.Failedf("reading job %s from escrow %s", id, escrow.Hex()).Wrap(err).
		WithFix("check the profile's escrow address (vrwxctl contracts check)")
}

func firstErr(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}

func renderJob(io *ui.IO, j *vrwx.Job, out GetJSON, now time.Time) {
	s := io.Styles()
	w := io.Out
	st := statusStyle(s, j.Status)
	fmt.Fprintf(w, "%s %s  %s\n", s.Bold.Render("JOB "+out.Job.ID), st.Render(out.Job.Status),
		s.Faint.Render(fmt.Sprintf("escrow %s · chain %d", out.Escrow, out.ChainID)))
	row := func(name, value string, detail ...string) {
		line := fmt.Sprintf("  %-16s %s", name, value)
		for _, d := range detail {
			if d != "" {
				line += "  " + d
			}
		}
		fmt.Fprintln(w, line)
	}
	row("buyer", out.Job.Buyer)
	row("robotId", out.Job.RobotID)
	switch {
	case out.Robot.Error != "":
		row("  controller", "unknown", s.Warn.Render("registry unreadable: "+out.Robot.Error))
	case !out.Robot.Registered:
		row("  controller", out.Robot.Controller, s.Crit.Render("not registered"))
	case out.Robot.Active:
		row("  controller", out.Robot.Controller, s.OK.Render("active"))
	default:
		row("  controller", out.Robot.Controller, s.Warn.Render("deactivated"))
	}
	row("jobSpecHash", out.Job.JobSpecHash)
	switch st := out.ServiceType; {
	case st == nil:
		row("serviceType", "unknown", s.Faint.Render("(the escrow did not answer jobServiceTypes)"))
	case !st.Set:
		row("serviceType", "none", s.Faint.Render("(created without a service type)"))
	case st.Name != "":
		row("serviceType", st.Name, s.Faint.Render(st.Hash))
	default:
		row("serviceType", st.Hash)
	}
	if out.Token != nil {
		sym := out.Token.Symbol
		if sym == "" {
			sym = "tokens"
		}
		row("price", s.Bold.Render(out.Job.PriceFormatted+" "+sym), s.Faint.Render(fmt.Sprintf("(%s raw, %d decimals)", out.Job.Price, out.Token.Decimals)))
	} else {
		row("price", out.Job.Price, s.Faint.Render("(raw; token decimals unknown)"))
	}
	row("deadline", timeValue(j.Deadline, now), deadlineNote(s, out.Job))
	row("status", fmt.Sprintf("%s (%d)", out.Job.Status, out.Job.StatusCode))
	row("completionHash", out.Job.CompletionHash)
	row("tokenId", out.Job.TokenID)
	if j.SettleAfter.Sign() == 0 {
		row("settleAfter", "0", s.Faint.Render("(not set: no completion recorded)"))
	} else {
		note := ""
		if out.Job.Settleable {
			note = s.OK.Render("settleable: the challenge window is over")
		}
		row("settleAfter", timeValue(j.SettleAfter, now), note)
	}
	row("qualityScore", fmt.Sprint(out.Job.QualityScore))
	row("workUnits", fmt.Sprint(out.Job.WorkUnits))
}

func timeValue(v *big.Int, now time.Time) string {
	if t, ok := vrwx.UnixTime(v); ok {
		return fmt.Sprintf("%s  %s  (%s)", v, ui.FormatUTC(t), ui.Relative(t, now))
	}
	return v.String()
}

func deadlineNote(s ui.Styles, j JobJSON) string {
	if j.Overdue {
		return s.Crit.Render("overdue: FUNDED past its deadline (refundable to the buyer)")
	}
	return ""
}
