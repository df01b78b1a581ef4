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
}

func newProgress(io *ui.IO, total int) *progress {
	return &progress{io: io, total: total, tty: io.ErrTTY && total >= progressMin}
}

func (p *progress) update(done int) {
	if p.tty {
		fmt.Fprintf(p.io.ErrOut, "\rscanning jobs: %d/%d", done, p.total)
		return
	}
	p.io.Debugf("scanned %d/%d jobs", done, p.total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.io.ErrOut, "\r\033[K")
	}
}
