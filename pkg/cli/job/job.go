// Package job implements `vrwxctl job`: one job with its robot and token (get), a
// batched scan of every job with filters (list), and the escrow's and registry's
// decoded events (events) — the runbook's `cast call … jobs(uint256)` and
// `cast logs` steps.
package job

import (
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// NewCmdJob returns the `job` group.
func NewCmdJob(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Escrow jobs: get one, list and filter all, decoded events, submit a completion",
	}
	cmd.AddCommand(NewCmdGet(f, nil), NewCmdList(f, nil), NewCmdEvents(f, nil), NewCmdComplete(f, nil))
	return cmd
}

// JobJSON is one job under -o json (job get, job list): the 11 fields of
// jobs(uint256) by name, uint256 values as decimal strings, plus the status name,
// the price in token units and the times in UTC.
type JobJSON struct {
	ID          string `json:"id"`
	Buyer       string `json:"buyer"`
	RobotID     string `json:"robotId"`
	JobSpecHash string `json:"jobSpecHash"`
	// Price is the raw on-chain amount; PriceFormatted divides it by the token's
	// decimals ("" when they could not be read).
	Price          string `json:"price"`
	PriceFormatted string `json:"priceFormatted,omitempty"`
	// Deadline and SettleAfter are unix seconds; the *UTC fields are RFC 3339
	// (SettleAfterUTC is omitted while settleAfter is 0).
	Deadline       string `json:"deadline"`
	DeadlineUTC    string `json:"deadlineUtc"`
	Status         string `json:"status"`
	StatusCode     uint8  `json:"statusCode"`
	CompletionHash string `json:"completionHash"`
	TokenID        string `json:"tokenId"`
	SettleAfter    string `json:"settleAfter"`
	SettleAfterUTC string `json:"settleAfterUtc,omitempty"`
	QualityScore   uint8  `json:"qualityScore"`
	WorkUnits      uint32 `json:"workUnits"`
	// Overdue: FUNDED and past its deadline. Settleable: COMPLETED and past
	// settleAfter. Both judged against the later of the wall clock and the head.
	Overdue    bool `json:"overdue"`
	Settleable bool `json:"settleable"`
}

func toJSON(j *vrwx.Job, decimals int, now time.Time) JobJSON {
	out := JobJSON{
		ID: j.ID.String(), Buyer: j.Buyer.Hex(), RobotID: j.RobotID.Hex(), JobSpecHash: j.JobSpecHash.Hex(),
		Price: j.Price.String(), Deadline: j.Deadline.String(), Status: j.Status.String(), StatusCode: uint8(j.Status),
		CompletionHash: j.CompletionHash.Hex(), TokenID: j.TokenID.String(), SettleAfter: j.SettleAfter.String(),
		QualityScore: j.QualityScore, WorkUnits: j.WorkUnits,
	}
	if decimals >= 0 {
		out.PriceFormatted = units.FormatFixed(j.Price, decimals)
	}
	if t, ok := vrwx.UnixTime(j.Deadline); ok {
		out.DeadlineUTC = t.Format(time.RFC3339)
	}
	if t, ok := vrwx.UnixTime(j.SettleAfter); ok && j.SettleAfter.Sign() > 0 {
		out.SettleAfterUTC = t.Format(time.RFC3339)
	}
	out.Overdue, out.Settleable = j.Overdue(now), j.Settleable(now)
	return out
}

// statusStyle colours a status: green when the job is done well, yellow while
// money waits on someone, red for disputes, faint when nothing more will happen.
func statusStyle(s ui.Styles, st vrwx.Status) *lipgloss.Style {
	var style lipgloss.Style
	switch st {
	case vrwx.StatusCompleted, vrwx.StatusSettled:
		style = s.OK
	case vrwx.StatusFunded:
		style = s.Warn
	case vrwx.StatusDisputed:
		style = s.Crit
	default:
		style = s.Faint
	}
	return &style
}

// statusCompletions is --status's shell completion.
func statusCompletions(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return vrwx.StatusNames(), cobra.ShellCompDirectiveNoFileComp
}
