package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/watch"
)

// watchRun keeps status on screen: pkg/watch decides when to read; this draws each
// reading — in place on a terminal, one document per read in a pipe — and ends with
// exit 130 on Ctrl-C (143 on SIGTERM, set by the binary).
func watchRun(ctx context.Context, opts *Options, read func(context.Context) (reading, error)) error {
	io := opts.IO
	var screen *ui.Screen
	if !io.JSONOutput() {
		screen = io.StartScreen()
		defer screen.Close()
	}
	loop := &watch.Loop[reading]{
		Interval: opts.Interval, Read: read, ReadTimeout: opts.ReadTimeout, Now: opts.Now, NewTicker: opts.NewTicker,
		Show: func(cur watch.Reading[reading], prev *watch.Reading[reading]) error {
			if screen == nil {
				return jsonLine(io, cur)
			}
			return screen.Draw(screen.Frame(func() { frame(io, opts, cur, prev) }))
		},
	}
	err := loop.Run(ctx)
	if errors.Is(err, watch.ErrStopped) {
		return errs.Exit(errs.Interrupted)
	}
	return err
}

// frame draws one reading: a line with when it was read and how to stop, then the
// report with what changed since the reading before marked, or the read's error.
func frame(io *ui.IO, opts *Options, cur watch.Reading[reading], prev *watch.Reading[reading]) {
	s := io.Styles()
	stop := "Ctrl-C stops"
	if !io.OutTTY {
		stop = fmt.Sprintf("read %d", cur.N)
	}
	fmt.Fprintln(io.Out, s.Faint.Render(fmt.Sprintf("every %s · last read %s (took %s) · %s",
		opts.Interval, ui.FormatUTC(cur.At), cur.Took.Round(time.Millisecond), stop)))
	if cur.Err != nil {
		fmt.Fprintln(io.Out, s.Crit.Render("X")+" "+cur.Err.Error())
		if fix := errs.FixOf(cur.Err); fix != "" {
			fmt.Fprintln(io.Out, "  "+s.Bold.Render("fix:")+" "+fix)
		}
		return
	}
	var changed func(report.Check) bool
	if prev != nil && prev.Err == nil {
		changed = report.Changed(prev.Value.out.Checks, cur.Value.out.Checks)
	}
	renderChanged(io, cur.Value.out, cur.Value.r, changed)
	if !io.OutTTY {
		fmt.Fprintln(io.Out)
	}
}

// jsonLine writes a reading as one line of JSON: status's document, or for a read
// that failed {"at", "error"}.
func jsonLine(io *ui.IO, cur watch.Reading[reading]) error {
	var v any = cur.Value.out
	if cur.Err != nil {
		v = struct {
			At    time.Time    `json:"at"`
			Error ui.ErrorBody `json:"error"`
		}{cur.At.UTC(), ui.ErrorBodyOf(cur.Err)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := io.Out.Write(append(b, '\n')); err != nil {
		return err
	}
	io.Flush()
	return nil
}
