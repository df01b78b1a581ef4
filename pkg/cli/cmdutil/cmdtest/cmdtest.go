// Package cmdtest tests a command's flag parsing on its own: a Factory on buffers
// with an empty environment, and Parse, which runs a command built with a runF that
// captures its options. It imports no command package, so a command package's own
// (internal) tests can use it to reach its unexported validate and xRun.
package cmdtest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Now is the clock of Factory.
var Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Factory returns a factory writing to buffers, with no environment and a fixed clock.
func Factory() *cmdutil.Factory {
	return &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}), Globals: &cmdutil.Globals{},
		LookupEnv: func(string) (string, bool) { return "", false }, Now: func() time.Time { return Now }}
}

// Parse runs cmd with args; a runF given to the command's constructor sees the
// parsed options.
func Parse(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

// NoConfig fails the test if a command reads its configuration: input checking
// must come first.
func NoConfig(t testing.TB) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		t.Helper()
		t.Fatal("the configuration was read before the input was checked")
		return nil, nil
	}
}

// NoChain fails the test if a command opens a chain client.
func NoChain(t testing.TB) func() (*chain.Client, error) {
	return func() (*chain.Client, error) {
		t.Helper()
		t.Fatal("a chain client was opened before the input was checked")
		return nil, nil
	}
}

// NoFlow fails the test if a sending command builds its send path (which opens the
// signer and the chain).
func NoFlow(t testing.TB) func(context.Context, string, cmdutil.SendOptions) (*txflow.Flow, *config.Config, error) {
	return func(context.Context, string, cmdutil.SendOptions) (*txflow.Flow, *config.Config, error) {
		t.Helper()
		t.Fatal("the send path was built before the input was checked")
		return nil, nil, nil
	}
}

// Usage fails the test unless err is a usage error (exit 2) and what the operator
// reads of it on stderr holds want (the bad value, the expected form).
func Usage(t testing.TB, err error, want string) {
	t.Helper()
	var stderr strings.Builder
	out := ui.Test(strings.NewReader(""), io.Discard, &stderr)
	if err != nil {
		out.PrintError(err)
		out.Flush()
	}
	if errs.KindOf(err) != errs.Usage || !strings.Contains(stderr.String(), want) {
		t.Errorf("want a usage error mentioning %q, got kind %d: %s", want, errs.KindOf(err), stderr.String())
	}
}
