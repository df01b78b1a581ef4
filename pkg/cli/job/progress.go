package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// progressMin is the scan size from which progress is shown on a terminal: below it
// the scan ends before a line would be worth reading.
const progressMin = 2000

// progress reports a scan's advance on stderr: a line rewritten in place on a
// terminal, and plain lines with -v. A pipe or log gets nothing without -v.
type progress struct {
	io    *ui.IO
	total int
	tty   bool
	shown bool
}

func newProgress(io *ui.IO, total int) *progress {
	return &progress{io: io, total: total, tty: io.ErrTTY && total >= progressMin}
}

// step hands the rows printed so far to stdout (flush) and then reports done: the
// progress line is cleared first, so rows and the line never share a terminal line.
func (p *progress) step(done int, flush func() error) error {
	p.clear()
	if err := flush(); err != nil {
		return err
	}
	if p.tty {
		p.io.Progress("scanning jobs: %d/%d", done, p.total)
		p.shown = true
		return nil
	}
	p.io.Debugf("scanned %d/%d jobs", done, p.total)
	return nil
}

func (p *progress) clear() {
	if p.shown {
		p.io.ClearProgress()
		p.shown = false
	}
}

func (p *progress) done() { p.clear() }

// timedOut turns a scan stopped by the command's --timeout into an error that says
// how far it got and, from the rate so far, how long the whole scan would take; any
// other error is returned as it is. unit names what done and total count ("jobs",
// "blocks"); narrow names the flags that shorten the scan.
func timedOut(ctx context.Context, err error, took time.Duration, done, total uint64, unit, narrow string) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	e := errs.Timeoutf("stopped by --timeout after %s: %d of %d %s read", took.Round(time.Second), done, total, unit)
	if done == 0 || done >= total {
		return e.WithFix("raise --timeout, or narrow the scan with " + narrow)
	}
	need := time.Duration(float64(took) / float64(done) * float64(total))
	return e.WithFix(fmt.Sprintf("raise --timeout (at this rate all %d %s take about %s), or narrow the scan with %s", total, unit, need.Round(time.Second), narrow))
}
