// Package audit implements `vrwxctl audit`: reading the append-only audit log of
// every transaction vrwxctl signed or sent (who, where, what, the hash and the
// outcome), filtered for an incident review.
package audit

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// NewCmdAudit returns the `audit` group.
func NewCmdAudit(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The audit log of every transaction vrwxctl signed or sent",
	}
	cmd.AddCommand(NewCmdList(f, nil))
	return cmd
}

// ListOptions are the inputs of audit list.
type ListOptions struct {
	IO  *ui.IO
	Now func() time.Time
	// Path returns the audit log's path ($XDG_STATE_HOME/vrwxctl/audit.log).
	Path func() string

	Command string
	Outcome string
	Since   string
	Account string
	TxHash  string
	Limit   int
}

// NewCmdList returns `audit list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Now: f.Now, Path: func() string { return audit.DefaultPath(f.StateDir()) }}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the audit log's lines, filtered by command, outcome, time, account or transaction",
		Long: `List the audit log ($XDG_STATE_HOME/vrwxctl/audit.log): one line per step of every
transaction vrwxctl signed or sent — "sent" (written and fsynced before the
broadcast), then its outcome (mined, reverted, not-sent, timeout, unknown), or
dry-run — with the user, profile, chain, command, sender, recipient, nonce, hash,
fee and the --reason given. No keys are ever in it.

Filters combine: --command matches a command or its group (wallet matches
wallet fund), --since takes a duration back from now (24h, 7d) or a date
(2026-03-01, or RFC 3339), --account matches sender or recipient.

On a terminal the table fits its width (the note, call and addresses are cut
short, the profile and nonce left out first; --wide shows everything) and goes
through the pager (VRWXCTL_PAGER, PAGER, less -FRX; --no-pager); stderr says how
many lines matched and how many are shown.

Exit codes: 0 listed (also when nothing matched), 1 the log is unreadable, 2 bad input.`,
		Example: `  # What did vrwxctl send in the last day, and how did it end?
  vrwxctl audit list --since 24h

  # Every line about one transaction
  vrwxctl audit list --tx 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060

  # The newest 20 lines, every column in full
  vrwxctl audit list --limit 20 --wide

  # Funding of the relayer, as JSON
  vrwxctl audit list --command "wallet fund" --account 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), nil, opts, runF, listRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Command, "command", "", "only this command or group (e.g. \"wallet fund\", \"job\")")
	fl.StringVar(&opts.Outcome, "outcome", "", "only this outcome: "+strings.Join(audit.Outcomes, ", "))
	fl.StringVar(&opts.Since, "since", "", "only lines since a duration ago (24h, 7d) or a date (2026-03-01, RFC 3339)")
	fl.StringVar(&opts.Account, "account", "", "only lines whose sender or recipient is this address")
	fl.StringVar(&opts.TxHash, "tx", "", "only lines about this transaction hash")
	cmdutil.IntVar(fl, &opts.Limit, "limit", 0, "show only the newest N matching lines (0: all)")
	cmdutil.WideFlag(fl, f.IO)
	_ = cmd.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions(audit.Outcomes, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.HoldsHash(cmd, "tx")
	return cmd
}

// ListJSON is the -o json shape of audit list.
type ListJSON struct {
	Path    string        `json:"path"`
	Entries []audit.Entry `json:"entries"`
}

func (o *ListOptions) filter() (audit.Filter, error) {
	f := audit.Filter{Command: strings.TrimSpace(o.Command), Outcome: o.Outcome}
	if o.Outcome != "" && !slices.Contains(audit.Outcomes, o.Outcome) {
		return f, errs.Usagef("--outcome %s is not an outcome (expected one of %s)", redact.Quote(o.Outcome), strings.Join(audit.Outcomes, ", "))
	}
	if o.Since != "" {
		t, err := parseSince(o.Since, o.Now())
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if o.Account != "" {
		a, err := units.ParseAddress(o.Account)
		if err != nil {
			return f, errs.Usagef("--account: %v", err)
		}
		f.Account = a.Hex()
	}
	if o.TxHash != "" {
		h, err := cmdutil.ParseBytes32("--tx", o.TxHash)
		if err != nil {
			return f, err
		}
		f.TxHash = h.Hex()
	}
	if o.Limit < 0 {
		return f, errs.Usagef("--limit %d is negative (expected 0 for all, or a count)", o.Limit)
	}
	return f, nil
}

// parseSince reads a duration back from now ("90m", "24h", "7d") or a date.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseUint(days, 10, 32); err == nil {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errs.Usagef("--since %s is neither a duration nor a date (expected e.g. 24h, 7d, 2026-03-01 or 2026-03-01T12:00:00Z)", redact.Quote(s))
}

func listRun(_ context.Context, opts *ListOptions) error {
	filter, err := opts.filter()
	if err != nil {
		return err
	}
	path := opts.Path()
	entries, err := audit.Open(path).Read()
	if errs.KindOf(err) == errs.Refused {
		return err // a log others can change: the refusal carries its fix
	}
	if err != nil {
		return errs.Failedf("reading the audit log").Wrap(err).
			WithFix("the log is append-only JSON lines: look at the line named above; vrwxctl never rewrites it")
	}
	out := ListJSON{Path: redact.Mask(path), Entries: []audit.Entry{}}
	for _, e := range entries {
		if filter.Match(e) {
			out.Entries = append(out.Entries, e)
		}
	}
	matched := len(out.Entries)
	if opts.Limit > 0 && len(out.Entries) > opts.Limit {
		out.Entries = out.Entries[len(out.Entries)-opts.Limit:]
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if len(out.Entries) == 0 {
		if len(entries) == 0 {
			opts.IO.Infof("the audit log %s is empty or absent: vrwxctl has sent nothing from this host and user", redact.Mask(path))
		} else {
			opts.IO.Infof("no line of %s matches (%d lines in all)", redact.Mask(path), len(entries))
		}
		return nil
	}
	opts.IO.StartPager()
	render(opts.IO, out.Entries)
	switch {
	case len(out.Entries) < matched:
		opts.IO.Infof("the newest %d of %d matching line(s) (%d in the log; --limit 0 shows all)", len(out.Entries), matched, len(entries))
	default:
		opts.IO.Infof("%d matching line(s) (%d in the log)", matched, len(entries))
	}
	return nil
}

func render(io *ui.IO, entries []audit.Entry) {
	s := io.Styles()
	t := ui.NewTable("TIME", "OUTCOME", "COMMAND", "PROFILE", "FROM", "TO", "NONCE", "TX", "CALL", "NOTE")
	for _, e := range entries {
		nonce := "-"
		if e.Nonce != nil {
			nonce = strconv.FormatUint(*e.Nonce, 10)
		}
		note := e.Reason
		if e.Error != "" {
			note = strings.TrimSpace(strings.Join([]string{note, "error: " + e.Error}, " "))
		}
		if e.ReconciledBy != "" {
			note = strings.TrimSpace(note + " (learned by " + e.ReconciledBy + ")")
		}
		if e.FeeWei != "" {
			note = strings.TrimSpace(note + " fee " + e.FeeWei + " wei")
		}
		style := &s.OK
		switch e.Outcome {
		case audit.Reverted, audit.NotSent, audit.Unknown:
			style = &s.Crit
		case audit.Sent, audit.Timeout:
			style = &s.Warn
		case audit.DryRun:
			style = &s.Faint
		}
		t.StyledRow([]string{ui.FormatUTC(e.Time), e.Outcome, e.Command, e.Profile, orDash(e.From), orDash(e.To), nonce, orDash(e.TxHash), orDash(e.Call), note},
			[]*lipgloss.Style{nil, style})
	}
	// On a narrow terminal the free text gives way first, then what an incident
	// review needs least; the time, outcome, command and hash stay.
	t.Fit(ui.Shrink("NOTE", 16), ui.Shrink("CALL", 24), ui.Drop("PROFILE"), ui.Drop("NONCE"),
		ui.Shrink("FROM", 12), ui.Shrink("TO", 12), ui.Shrink("TX", 14), ui.Drop("NOTE"), ui.Drop("CALL"), ui.Drop("FROM"))
	io.RenderTable(t)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
