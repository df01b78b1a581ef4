// Package version implements `vrwxctl version`.
package version

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/buildinfo"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Options are the inputs of version.
type Options struct {
	IO *ui.IO
}

// NewCmdVersion returns `vrwxctl version`; runF replaces the run function in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit, build date and Go version",
		Args:  cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), nil, opts, runF, run)
		},
	}
}

func run(_ context.Context, opts *Options) error {
	i := buildinfo.Get()
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(i)
	}
	fmt.Fprintf(opts.IO.Out, "vrwxctl %s\ncommit:  %s\nbuilt:   %s\ngo:      %s (%s)\n", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
	return nil
}
