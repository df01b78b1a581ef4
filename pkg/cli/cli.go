// Package cli runs vrwxctl: it builds the command tree, executes it, and turns the
// outcome into the exit codes every command shares.
package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Main runs vrwxctl with args and returns the process exit code: an interrupted
// command exits 130 after Ctrl-C and 143 after SIGTERM, as a shell reports them.
func Main(args []string) int {
	f := &cmdutil.Factory{IO: ui.System(os.LookupEnv), Globals: &cmdutil.Globals{}, LookupEnv: os.LookupEnv, Environ: os.Environ, Now: time.Now}
	ctx, stop := interruptible(context.Background())
	defer stop()
	return Run(ctx, f, args)
}

// interruptible cancels ctx when SIGINT or SIGTERM arrives, with errs.Signal as the
// cause, so a wait says it was interrupted (exit 130/143) rather than timed out,
// and a rotation saves its journal and says how to resume. A second signal is no
// longer caught: it ends the process at once.
func interruptible(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(errs.Signal(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel(nil)
	}
}

// Commands returns the names of vrwxctl's top-level commands, as the tree Run
// executes has them.
func Commands() []string {
	tree := root.NewCmdRoot(&cmdutil.Factory{IO: ui.Test(nil, io.Discard, io.Discard), Globals: &cmdutil.Globals{}})
	var names []string
	for _, c := range tree.Commands() {
		names = append(names, c.Name())
	}
	return names
}

// Run executes args against the factory's IO; tests call it directly.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	defer f.IO.Flush()
	f.LookupEnv = registeringLookup(f.LookupEnv)
	cmd := root.NewCmdRootFor(f, args)
	cmd.SetArgs(args)
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	err := cmd.ExecuteContext(ctx)
	// The reader may still be scrolling the listing: the command's outcome is said
	// after the pager quits, on the terminal itself.
	f.IO.StopPager()
	if err == nil || errors.Is(err, ui.ErrPagerClosed) {
		// A reader who quit the pager before the end saw what they wanted.
		return 0
	}
	var e *errs.Error
	if !root.RunStarted(cmd) {
		// Parsing failed: what was typed is registered with the scrubber (hash
		// fields aside, as far as the command line names them) before the error
		// repeats any of it.
		cmdutil.RegisterArgs(cmd, args)
		if !errors.As(err, &e) {
			// cobra's own parse errors (unknown command, bad flag value) are usage
			// errors; they quote what was typed, so they are masked by shape.
			err = errs.Usagef("%s", redact.MaskText(err.Error())).WithFix("see `vrwxctl --help`")
		}
		// Parsing stopped before -o was applied; a script that asked for JSON still
		// gets its one JSON document.
		if wantsJSON(args) {
			f.IO.Format = ui.JSON
		}
	}
	// However a command ended while a signal was being handled, it was interrupted:
	// exit 130 (SIGINT) or 143 (SIGTERM), with the command's own words when it said
	// where it stopped. A context cancelled without a signal's cause (a test's) is
	// an interruption too.
	if sig := errs.Interruption(ctx); sig != nil && errs.KindOf(err) != sig.Kind {
		switch {
		case errs.IsSilent(err):
			err = errs.Exit(sig.Kind)
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			err = sig
		default:
			err = &errs.Error{Kind: sig.Kind, Err: err, Sentinel: errs.ErrInterrupted}
		}
	} else if sig == nil && errors.Is(err, context.Canceled) && ctx.Err() != nil && errs.KindOf(err) == errs.Failed {
		err = &errs.Error{Kind: errs.Interrupted, Msg: "interrupted"}
	}
	if !errs.IsSilent(err) {
		f.IO.PrintError(err)
	}
	return int(errs.KindOf(err))
}

// registeringLookup is lookup with every value it returns registered with the
// scrubber (redact.RegisterInput): an environment variable holding a key where a
// profile name or a path belongs is shown redacted by whatever repeats it.
func registeringLookup(lookup func(string) (string, bool)) func(string) (string, bool) {
	if lookup == nil {
		return nil
	}
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		if ok {
			redact.RegisterInput(v)
		}
		return v, ok
	}
}

// wantsJSON reports whether args ask for -o json, read the way pflag would read them
// (-o json, -ojson, -o=json, --output json, --output=json), up to "--".
func wantsJSON(args []string) bool {
	want := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		var v string
		switch {
		case a == "-o" || a == "--output":
			if i+1 < len(args) {
				i++
				v = args[i]
			}
		case strings.HasPrefix(a, "--output="):
			v = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o"):
			v = strings.TrimPrefix(strings.TrimPrefix(a, "-o"), "=")
		default:
			continue
		}
		want = v == string(ui.JSON)
	}
	return want
}
