// Package health implements `vrwxctl health`: the runbook's
// `curl https://api.vrwx.io/health | jq .relayerAddress`, checked — the API is up,
// says "ok", runs on the profile's chain, and relays from the expected address.
package health

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Options are the inputs of health.
type Options struct {
	IO            *ui.IO
	Config        func() (*config.Config, error)
	SignerAddress func(ctx context.Context, ref string) (common.Address, error)
	Context       func(context.Context) (context.Context, context.CancelFunc)
	Client        *health.Client

	APIURL        string
	ExpectRelayer string
	ExpectSigner  string
}

// NewCmdHealth returns `vrwxctl health`.
func NewCmdHealth(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, SignerAddress: f.SignerAddress, Context: f.Context, Client: &health.Client{}}
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check the API's /health: up, on the profile's chain, relaying from the expected address",
		Long: `Read the VRWX API's GET /health (the runbook's "curl …/health | jq .relayerAddress")
and check it: the API answers, its status is "ok", its chainId is the profile's, and —
with --expect-relayer ADDR or --expect-signer REF — its relayerAddress is that address
(after a key rotation: the address of the store's current key).

The API is --api-url, else VRWX_API_URL, else the profile's api_url.

Exit codes: 0 all as expected; 1 the API is down, answered an error or something
that is not the /health JSON, or reports something other than expected; 2 bad input.`,
		Example: `  # Runbook step 6: the API relays from the new key
  vrwxctl health --expect-signer aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY --profile base-mainnet

  # Against a given address, as JSON (jq .health.relayerAddress)
  vrwxctl health --api-url https://api.vrwx.io --expect-relayer 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, healthRun)
		},
	}
	cmd.Flags().StringVar(&opts.APIURL, "api-url", "", "the API's base URL (default VRWX_API_URL or the profile's api_url)")
	cmd.Flags().StringVar(&opts.ExpectRelayer, "expect-relayer", "", "fail unless /health reports this relayer address")
	cmd.Flags().StringVar(&opts.ExpectSigner, "expect-signer", "", "fail unless /health reports the address of this signer reference's key")
	return cmd
}

// JSON is the -o json shape of health.
type JSON struct {
	URL        string            `json:"url"`
	LatencyMs  float64           `json:"latencyMs"`
	OK         bool              `json:"ok"`
	Health     HealthJSON        `json:"health"`
	Expected   ExpectedJSON      `json:"expected"`
	Mismatches []health.Mismatch `json:"mismatches"`
}

// HealthJSON is the API's answer with the relayer address checksummed, as the API sends it.
type HealthJSON struct {
	Status          string  `json:"status"`
	Timestamp       string  `json:"timestamp"`
	StrictMode      bool    `json:"strictMode"`
	StorageRequired bool    `json:"storageRequired"`
	SchemaVersion   string  `json:"schemaVersion"`
	RelayMode       string  `json:"relayMode"`
	RelayerAddress  *string `json:"relayerAddress"`
	ChainID         uint64  `json:"chainId"`
}

// ExpectedJSON says what was checked.
type ExpectedJSON struct {
	ChainID     uint64 `json:"chainId"`
	Relayer     string `json:"relayer,omitempty"`
	RelayerFrom string `json:"relayerFrom,omitempty"`
}

func (o *Options) validate() error {
	if o.ExpectRelayer != "" && o.ExpectSigner != "" {
		return errs.Usagef("both --expect-relayer and --expect-signer given (choose one)")
	}
	if o.APIURL != "" {
		if err := config.CheckURL(o.APIURL); err != nil {
			return errs.Usagef("--api-url: %v", err)
		}
	}
	if o.ExpectRelayer != "" {
		if err := units.CheckAddress(o.ExpectRelayer); err != nil {
			return errs.Usagef("--expect-relayer: %v", err)
		}
	}
	return nil
}

func healthRun(ctx context.Context, opts *Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	apiURL := opts.APIURL
	if apiURL == "" {
		apiURL = cfg.String("api_url")
	}
	if apiURL == "" {
		return errs.Usagef("no API URL: profile %q has no api_url", cfg.Profile).
			WithFix("pass --api-url https://api.example, set VRWX_API_URL, or set api_url in the profile")
	}
	chainID, err := cfg.ChainID()
	if err != nil {
		return err
	}
	want := health.Expect{ChainID: chainID}
	switch {
	case opts.ExpectRelayer != "":
		a, err := units.ParseAddress(opts.ExpectRelayer)
		if err != nil {
			return err
		}
		want.Relayer, want.RelayerFrom = &a, "--expect-relayer"
	case opts.ExpectSigner != "":
		a, err := opts.SignerAddress(ctx, opts.ExpectSigner)
		if err != nil {
			return err
		}
		want.Relayer, want.RelayerFrom = &a, "--expect-signer "+opts.ExpectSigner
	}

	res, err := opts.Client.Get(ctx, apiURL)
	if err != nil {
		return err
	}
	mismatches := health.Compare(res.Health, want)
	out := JSON{URL: res.URL, LatencyMs: float64(res.Latency.Microseconds()) / 1000, OK: len(mismatches) == 0,
		Health: toJSON(res.Health), Expected: ExpectedJSON{ChainID: chainID, RelayerFrom: want.RelayerFrom},
		Mismatches: mismatches}
	if out.Mismatches == nil {
		out.Mismatches = []health.Mismatch{}
	}
	if want.Relayer != nil {
		out.Expected.Relayer = want.Relayer.Hex()
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		render(opts.IO, cfg.Profile, res, out)
	}
	if len(mismatches) == 0 {
		return nil
	}
	// The report is on stdout; what is wrong and what to do go to stderr, once each.
	s := opts.IO.ErrStyles()
	for _, m := range mismatches {
		fmt.Fprintln(opts.IO.ErrOut, s.Crit.Render("X")+" "+m.Message)
		fmt.Fprintln(opts.IO.ErrOut, "  "+s.Bold.Render("fix:")+" "+m.Fix)
	}
	return errs.Exit(errs.Failed)
}

func toJSON(h health.Health) HealthJSON {
	out := HealthJSON{Status: h.Status, Timestamp: h.Timestamp, StrictMode: h.StrictMode, StorageRequired: h.StorageRequired,
		SchemaVersion: h.SchemaVersionString(), RelayMode: h.RelayMode, ChainID: h.ChainID}
	if h.RelayerAddress != nil {
		a := h.RelayerAddress.Hex()
		out.RelayerAddress = &a
	}
	return out
}

func render(io *ui.IO, profile string, res health.Result, out JSON) {
	s := io.Styles()
	fmt.Fprintf(io.Out, "%s %s  %s\n", s.Bold.Render("API"), res.URL,
		s.Faint.Render(fmt.Sprintf("profile %s · answered in %s", profile, res.Latency.Round(100*time.Microsecond))))
	bad := map[string]health.Mismatch{}
	for _, m := range out.Mismatches {
		bad[m.Field] = m
	}
	relayer := "null"
	if out.Health.RelayerAddress != nil {
		relayer = *out.Health.RelayerAddress
	}
	type line struct {
		name, value, detail string
		checked             bool
	}
	lines := []line{
		{"status", out.Health.Status, "", true},
		{"chainId", strconv.FormatUint(out.Health.ChainID, 10), fmt.Sprintf("profile chain %d", out.Expected.ChainID), true},
		{"relayerAddress", relayer, "", out.Expected.Relayer != ""},
		{"relayMode", out.Health.RelayMode, "", false},
		{"schemaVersion", out.Health.SchemaVersion, "", false},
		{"strictMode", strconv.FormatBool(out.Health.StrictMode), "", false},
		{"storageRequired", strconv.FormatBool(out.Health.StorageRequired), "", false},
		{"timestamp", out.Health.Timestamp, "", false},
	}
	if out.Expected.Relayer != "" {
		lines[2].detail = "expected " + out.Expected.Relayer + " (" + out.Expected.RelayerFrom + ")"
	}
	for _, l := range lines {
		icon := s.Faint.Render("·")
		if l.checked {
			icon = s.OK.Render("✓")
			if _, ok := bad[l.name]; ok {
				icon = s.Crit.Render("✗")
			}
		}
		text := fmt.Sprintf("  %s %-16s %s", icon, l.name, l.value)
		if l.detail != "" {
			text += "  " + s.Faint.Render(l.detail)
		}
		fmt.Fprintln(io.Out, text)
	}
	if out.OK {
		fmt.Fprintln(io.Out, s.OK.Render("OK"))
	} else {
		fmt.Fprintln(io.Out, s.Crit.Render("MISMATCH"))
	}
}
