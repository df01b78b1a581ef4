// Package config implements `vrwxctl config view` and `vrwxctl config profiles`.
package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdConfig returns the `config` group.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration and the profiles",
	}
	cmd.AddCommand(NewCmdView(f, nil), NewCmdProfiles(f, nil))
	return cmd
}

// ViewOptions are the inputs of config view.
type ViewOptions struct {
	IO     *ui.IO
	Config func() (*config.Config, error)
	Reveal bool
}

// NewCmdView returns `config view`.
func NewCmdView(f *cmdutil.Factory, runF func(context.Context, *ViewOptions) error) *cobra.Command {
	opts := &ViewOptions{IO: f.IO, Config: f.Config}
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Print every effective setting and where it came from",
		Long: `Print the effective settings of the selected profile and where each value came
from: built-in, deployment file (local chain), config file, env, or flag.
Precedence: flag > env > config file > built-in.

RPC URLs often carry provider API keys in their path; they are shown redacted
unless --reveal is given.`,
		Example: `  vrwxctl config view --profile base-mainnet
  RPC_URL=https://backup.example/rpc vrwxctl config view -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), nil, opts, runF, viewRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Reveal, "reveal", false, "show RPC URLs in full")
	return cmd
}

// ViewJSON is the -o json shape of config view.
type ViewJSON struct {
	Profile       string           `json:"profile"`
	ProfileSource config.Source    `json:"profileSource"`
	ConfigFile    string           `json:"configFile"`
	Settings      []config.Setting `json:"settings"`
}

func viewRun(_ context.Context, opts *ViewOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	settings := cfg.Settings()
	// Every value is what someone typed (a flag, the environment, the file) and is
	// shown masked by shape (redact.Mask): no 64 hex digits in a row, no URL's user
	// info, path or query — unless the operator asked for the URLs (keys never).
	mask := redact.Mask
	if opts.Reveal {
		opts.IO.RevealURLs()
		mask = redact.MaskHex
	}
	for i, s := range settings {
		parts := strings.Split(s.Value, ",")
		for j, p := range parts {
			parts[j] = mask(p)
		}
		settings[i].Value = strings.Join(parts, ",")
		settings[i].Detail = redact.Mask(s.Detail)
	}
	profile, file, searched := redact.Mask(cfg.Profile), redact.Mask(cfg.File), redact.Mask(cfg.SearchedFile)
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(ViewJSON{Profile: profile, ProfileSource: cfg.ProfileSource, ConfigFile: file, Settings: settings})
	}
	s := opts.IO.Styles()
	switch {
	case file != "":
	case searched != "":
		file = "(none; " + searched + " does not exist)"
	default:
		file = "(none)"
	}
	fmt.Fprintf(opts.IO.Out, "profile: %s (%s)\nconfig file: %s\n\n", s.Bold.Render(ui.Safe(profile)), cfg.ProfileSource, ui.Safe(file))
	t := ui.NewTable("KEY", "VALUE", "SOURCE")
	for _, st := range settings {
		src := string(st.Source)
		if st.Detail != "" {
			src += " " + st.Detail
		}
		t.Row(st.Key, st.Value, src)
	}
	t.Render(opts.IO.Out, s)
	return nil
}

// ProfilesOptions are the inputs of config profiles.
type ProfilesOptions struct {
	IO       *ui.IO
	Profiles func() ([]config.ProfileInfo, error)
}

// NewCmdProfiles returns `config profiles`.
func NewCmdProfiles(f *cmdutil.Factory, runF func(context.Context, *ProfilesOptions) error) *cobra.Command {
	opts := &ProfilesOptions{IO: f.IO, Profiles: f.Profiles}
	return &cobra.Command{
		Use:     "profiles",
		Short:   "List the built-in and configured profiles",
		Example: `  vrwxctl config profiles`,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), nil, opts, runF, profilesRun)
		},
	}
}

func profilesRun(_ context.Context, opts *ProfilesOptions) error {
	infos, err := opts.Profiles()
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(infos)
	}
	t := ui.NewTable("", "PROFILE", "CHAIN", "RPC", "FROM")
	for _, p := range infos {
		mark := ""
		if p.Current {
			mark = "*"
		}
		urls := make([]string, len(p.RPCURLs))
		for i, u := range p.RPCURLs {
			urls[i] = chain.RedactURL(u)
		}
		src := make([]string, len(p.Source))
		for i, s := range p.Source {
			src[i] = string(s)
		}
		t.Row(mark, p.Name, p.ChainID, strings.Join(urls, ","), strings.Join(src, "+"))
	}
	t.Render(opts.IO.Out, opts.IO.Styles())
	return nil
}
