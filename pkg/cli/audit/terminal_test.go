package audit_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// writeLog writes n payments to the environment's audit log (the JSON lines the
// log's own writer appends, without a chain to make them).
func writeLog(t *testing.T, e *clitest.Env, n int) {
	t.Helper()
	p := audit.DefaultPath(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl"))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		nonce := uint64(i)
		to := devchain.DevAddress(7).Hex()
		b, _ := json.Marshal(audit.Entry{Time: start.Add(time.Duration(i) * time.Minute), User: "oncall", Profile: "base-mainnet", ChainID: 8453,
			Command: "wallet fund", From: devchain.DevAddress(1).Hex(), To: to, Value: "500000000000000000", Nonce: &nonce,
			Call: fmt.Sprintf("fund(to=%s, amount=0.5 ETH)", to), TxHash: fmt.Sprintf("0x%064x", i+1), Outcome: audit.Mined,
			Block: uint64(1000 + i), FeeWei: "21000000000000", Reason: fmt.Sprintf("INC-%d top-up of the relayer after the alert", i)})
		w.Write(append(b, '\n'))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}

// needLess finds less, the default pager: without it the pager tests cannot run
// (they fail under CI, which must have it).
func needLess(t *testing.T) {
	if _, err := exec.LookPath("less"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("less is not installed: %v", err)
		}
		t.Skipf("less is not installed (%v): the pager tests need it", err)
	}
}

// The audit table on real terminals of several widths: it fits each one, the time,
// outcome, command and hash always stay, what was left out is named; --wide and a
// pipe show every column in full, the same bytes.
func TestAuditTableFitsTheTerminal(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	writeLog(t, e, 3)
	pipe := e.MustRun(0, "audit", "list")
	pipeLines := strings.Split(strings.TrimRight(pipe.Stdout, "\n"), "\n")
	natural := 0
	for _, l := range pipeLines {
		natural = max(natural, ui.Width(l))
	}
	if natural < 250 {
		t.Fatalf("the table is only %d cells wide in a pipe: the test needs a wide one\n%s", natural, pipe)
	}
	for _, width := range []int{natural + 5, 160, 120, 80} {
		tm := e.Terminal(width, 50, "audit", "list", "--no-pager")
		if code := tm.Wait(); code != 0 {
			t.Fatalf("width %d: exit %d\n%s", width, code, tm.Text())
		}
		screen := tm.Text()
		var table []string
		for _, l := range strings.Split(screen, "\n") {
			if strings.HasPrefix(l, "TIME") || strings.HasPrefix(l, "2026-") {
				table = append(table, l)
			}
		}
		if len(table) != 4 {
			t.Fatalf("width %d: %d table lines on the screen:\n%s", width, len(table), screen)
		}
		for _, l := range table {
			if ui.Width(l) > width {
				t.Errorf("width %d: line of %d cells: %q", width, ui.Width(l), l)
			}
			if !strings.HasPrefix(l, "TIME") && (!strings.Contains(l, "mined") || !strings.Contains(l, "wallet fund") || !strings.Contains(l, "0x0000000000")) {
				t.Errorf("width %d: time, outcome, command or hash missing: %q", width, l)
			}
		}
		switch {
		case width > natural:
			if strings.Join(table, "\n") != strings.Join(pipeLines, "\n") || strings.Contains(screen, "left out") {
				t.Errorf("width %d: a table that fits changed:\n%s\nwant\n%s", width, strings.Join(table, "\n"), pipe.Stdout)
			}
		default:
			if !strings.Contains(screen, "left out to fit the terminal: --wide shows every column") || !strings.Contains(screen, "…") {
				t.Errorf("width %d: nothing said about what gave way:\n%s", width, screen)
			}
		}
		if width == 80 && strings.Contains(table[0], "PROFILE") {
			t.Errorf("width 80: PROFILE is the first column to go: %q", table[0])
		}
	}
	tm := e.Terminal(80, 50, "audit", "list", "--no-pager", "--wide")
	tm.Wait()
	if !strings.Contains(strings.ReplaceAll(tm.Text(), "\n", ""), strings.ReplaceAll(pipe.Stdout, "\n", "")) {
		t.Errorf("--wide on 80 columns is not the pipe's table:\n%s", tm.Text())
	}
}

// A long listing on a terminal goes through the pager; a reader who quits it after
// the first screen ends the command with exit 0 and no broken-pipe noise; a listing
// that fits one screen leaves less at once (-F); --no-pager and VRWXCTL_PAGER are
// obeyed.
func TestAuditListPager(t *testing.T) {
	t.Parallel()
	needLess(t)
	e := clitest.New(t)
	writeLog(t, e, 3000) // about a megabyte: far more than a pipe holds

	tm := e.Terminal(200, 20, "audit", "list")
	tm.Expect("INC-5 top-up")
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(tm.Text(), "<E2>") {
		t.Errorf("the pager shows UTF-8 as bytes:\n%s", tm.Text())
	}
	if strings.Contains(tm.Text(), "INC-2999 ") {
		t.Fatalf("the whole listing went by without a pager:\n%s", tm.Text())
	}
	tm.Type("q")
	if code := tm.Wait(); code != 0 {
		t.Fatalf("quitting the pager: exit %d\n%s", code, tm.Text())
	}
	for _, noise := range []string{"broken pipe", "EPIPE", "pager quit", "\nX "} {
		if strings.Contains(tm.Text(), noise) {
			t.Errorf("quitting the pager printed %q:\n%s", noise, tm.Text())
		}
	}

	short := e.Terminal(200, 20, "audit", "list", "--limit", "3")
	if code := short.Wait(); code != 0 || !strings.Contains(short.Text(), "the newest 3 of 3000 matching line(s)") {
		t.Fatalf("a listing that fits one screen: exit %d\n%s", code, short.Text())
	}

	e.Vars["VRWXCTL_PAGER"] = "head -n 2"
	early := e.Terminal(200, 20, "audit", "list")
	if code := early.Wait(); code != 0 || strings.Contains(early.Text(), "broken pipe") || strings.Count(early.Text(), "INC-") != 1 {
		t.Fatalf("a pager that exits early: exit %d\n%s", code, early.Text())
	}

	e.Vars["VRWXCTL_PAGER"] = "sed s/^/PAGED:/"
	paged := e.Terminal(200, 20, "audit", "list", "--limit", "2")
	paged.Wait()
	direct := e.Terminal(200, 20, "audit", "list", "--limit", "2", "--no-pager")
	direct.Wait()
	if !strings.Contains(paged.Text(), "PAGED:TIME") || strings.Contains(direct.Text(), "PAGED:") || !strings.Contains(direct.Text(), "TIME") {
		t.Fatalf("VRWXCTL_PAGER:\n%s\n--no-pager:\n%s", paged.Text(), direct.Text())
	}
	if r := e.MustRun(0, "audit", "list", "--limit", "2"); strings.Contains(r.Stdout, "PAGED:") {
		t.Fatalf("a pipe went through the pager:\n%s", r)
	}
}

// Through a pager on a real terminal, the listing is still vrwxctl's output: a
// --reason that holds a title sequence, a clear-screen and a forged row reaches the
// terminal escaped, on its one row, while the table's own colours pass. The pager
// here passes every byte on (less would redraw control characters itself).
func TestPagedListingIsFiltered(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	writeLog(t, e, 1)
	p := audit.DefaultPath(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl"))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var entry audit.Entry
	if err := json.Unmarshal(b, &entry); err != nil {
		t.Fatal(err)
	}
	entry.Reason = "INC-9\n2026-03-01 12:00:00 UTC  mined  wallet fund forged\x1b]0;pwned\a\x1b[2J"
	line, _ := json.Marshal(entry)
	if err := os.WriteFile(p, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Vars["VRWXCTL_PAGER"] = "sed s/^/PAGED:/"
	tm := e.Terminal(400, 20, "audit", "list", "--wide")
	if code := tm.Wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, tm.Text())
	}
	raw := tm.Raw()
	if !strings.Contains(raw, "PAGED:") {
		t.Fatalf("the listing did not go through the pager:\n%q", raw)
	}
	if strings.Contains(raw, "\x1b]") || strings.Contains(raw, "\x1b[2J") || strings.Contains(raw, "\a") {
		t.Fatalf("the reason's control sequences reached the terminal:\n%q", raw)
	}
	if !strings.Contains(raw, `INC-9\n2026-03-01`) || !strings.Contains(raw, `forged\x1b]0;pwned\x07\x1b[2J`) {
		t.Fatalf("the reason is not shown escaped on its row:\n%q", raw)
	}
	if !strings.Contains(raw, "\x1b[") {
		t.Fatalf("no colour on the terminal through the pager:\n%q", raw)
	}
	// The header, the one row, and stderr's count (the same terminal: paged too).
	if n := strings.Count(tm.Text(), "PAGED:"); n != 3 || !strings.Contains(tm.Text(), "PAGED:1 matching line(s)") {
		t.Fatalf("want the header, one row and the count through the pager, got %d lines:\n%s", n, tm.Text())
	}
}
