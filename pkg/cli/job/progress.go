package job

import (
	"fmt"

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
		fmt.Fprintf(p.io.ErrOut, "\rscanning jobs: %d/%d", done, p.total)
		p.shown = true
		return nil
	}
	p.io.Debugf("scanned %d/%d jobs", done, p.total)
	return nil
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.io.ErrOut, "\r\033[K")
		p.shown = false
	}
}

func (p *progress) done() { p.clear() }
