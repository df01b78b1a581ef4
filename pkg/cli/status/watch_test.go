package status_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/doctor"
)

// status --watch on a real terminal: the alternate screen, a frame redrawn in place
// with the time of the last read, what changed since the read before marked, and
// Ctrl-C ending it with exit 130 and the last reading left on the shell's screen.
func TestWatchOnATerminal(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	relayer := e.D.Relayer.Hex()
	tm := e.Terminal(140, 60, "status", "--watch", "--interval", "1s")
	tm.Expect("last read")
	tm.Expect("OK")
	if !strings.Contains(tm.Raw(), "\x1b[?1049h") {
		t.Fatalf("no alternate screen:\n%q", tm.Raw())
	}
	if strings.Contains(tm.Text(), "▸") {
		t.Fatalf("the first read has nothing to compare with, yet something is marked:\n%s", tm.Text())
	}
	setBalance(t, e, relayer, mustWei("0.1")) // below the 0.2 ETH warning line
	screen := tm.Expect("▸")
	var marked []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "▸") {
			marked = append(marked, l)
		}
	}
	// The balance fell below the warning line: it is marked, in the margin, so the
	// columns do not move; the head and latencies, which move at every read, are not.
	all := strings.Join(marked, "\n")
	if !strings.Contains(all, "▸ ! balance  0.1 ETH") || strings.Contains(all, "head") || strings.Contains(all, "latency") {
		t.Fatalf("marked: %q\n%s", marked, screen)
	}
	if strings.Count(tm.Raw(), "last read") < 2 {
		t.Fatalf("one frame only:\n%s", tm.Text())
	}
	tm.Interrupt()
	if code := tm.Wait(); code != 130 {
		t.Fatalf("Ctrl-C: exit %d, want 130\n%s", code, tm.Text())
	}
	raw := tm.Raw()
	off := strings.LastIndex(raw, "\x1b[?1049l")
	if last := clitest.Plain(raw[max(off, 0):]); off < 0 || !strings.Contains(last, "STATUS "+relayer) || !strings.Contains(last, "! balance  0.1 ETH") {
		t.Fatalf("the last reading is not left on the screen after the alternate one:\n%q", raw[max(off, 0):])
	}
}

// In a pipe, -o json writes one JSON document per read, one per line, each with
// its time; the watch ends with exit 130 when interrupted.
func TestWatchInAPipeWritesJSONLines(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := &clitest.SyncBuffer{}
	done := make(chan clitest.Result)
	go func() { done <- e.RunContext(ctx, live, "status", "--watch", "--interval", "1s", "-o", "json") }()
	deadline := time.Now().Add(2 * time.Minute)
	for strings.Count(live.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.Code != 130 {
		t.Fatalf("interrupted watch: exit %d, want 130\n%s", r.Code, r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d JSON lines:\n%s", len(lines), r)
	}
	var prev time.Time
	for _, l := range lines {
		var s status.JSON
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("not one JSON document per line (%v): %q", err, l)
		}
		if s.Level != doctor.OK || !s.At.After(prev) {
			t.Fatalf("reading %+v after %s", s, prev)
		}
		prev = s.At
	}
	if r.Stderr != "" {
		t.Errorf("stderr: %q", r.Stderr)
	}
}

// --interval belongs to --watch, and is at least a second.
func TestWatchBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for _, args := range [][]string{{"status", "--interval", "10s"}, {"status", "--watch", "--interval", "100ms"}} {
		if r := e.Run(args...); r.Code != 2 || !strings.Contains(r.Stderr, "--interval") {
			t.Errorf("%v:\n%s", args, r)
		}
	}
}

// Colour on a terminal, and none with NO_COLOR, --no-color or in a pipe — the same
// text either way.
func TestColoursAndNoColor(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	coloured := e.Terminal(160, 60, "status")
	coloured.Wait()
	if !strings.Contains(coloured.Raw(), "\x1b[32m✓") {
		t.Fatalf("no green tick on a terminal:\n%q", coloured.Raw())
	}
	flag := e.Terminal(160, 60, "status", "--no-color")
	flag.Wait()
	e.Vars["NO_COLOR"] = "1"
	env := e.Terminal(160, 60, "status")
	env.Wait()
	delete(e.Vars, "NO_COLOR")
	for name, tm := range map[string]*clitest.Term{"--no-color": flag, "NO_COLOR": env} {
		if strings.Contains(tm.Raw(), "\x1b[") {
			t.Errorf("%s: escape codes on the terminal:\n%q", name, tm.Raw())
		}
		if tm.Text() != coloured.Text() && !sameButTimes(tm.Text(), coloured.Text()) {
			t.Errorf("%s: the text differs from the coloured one:\n%s\nvs\n%s", name, tm.Text(), coloured.Text())
		}
	}
	if r := e.Run("status"); strings.Contains(r.Stdout+r.Stderr, "\x1b[") {
		t.Errorf("escape codes in a pipe:\n%q", r.Stdout)
	}
}

// sameButTimes compares two status screens line by line, word by word (a latency
// of another length moves its section's columns), leaving out the lines that carry
// a time, a latency or a balance (they differ from read to read).
func sameButTimes(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
lines:
	for i := range la {
		if strings.Join(strings.Fields(la[i]), " ") == strings.Join(strings.Fields(lb[i]), " ") {
			continue
		}
		for _, varies := range []string{"µs", "ms", " old", "STATUS", "ETH", "#"} {
			if strings.Contains(la[i], varies) {
				continue lines
			}
		}
		return false
	}
	return true
}
