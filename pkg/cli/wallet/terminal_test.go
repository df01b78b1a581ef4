package wallet_test

import (
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// summaryColumns returns, for each line of the "Transaction" block on the screen,
// the cell where its value starts.
func summaryColumns(t *testing.T, screen string) map[string]int {
	t.Helper()
	i := strings.Index(screen, "Transaction\n")
	if i < 0 {
		t.Fatalf("no summary on the screen:\n%s", screen)
	}
	cols := map[string]int{}
	for _, l := range strings.Split(screen[i+len("Transaction\n"):], "\n") {
		if !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "   ") {
			break
		}
		label := strings.Fields(l)[0]
		if label == "L1" || label == "at" {
			label += " " + strings.Fields(l)[1]
		}
		rest := strings.TrimLeft(strings.TrimPrefix(strings.TrimLeft(l, " "), label), " ")
		cols[label] = ui.Width(l) - ui.Width(rest)
	}
	return cols
}

// The money confirmation, on a real terminal: coloured, and every value in one
// column — the same column as in a pipe — so "call fund(…)" never collapses against
// its label (it did on a terminal only: %-9s counted the colour codes). Declined, it
// sends nothing (exit 3).
func TestFundConfirmationOnATerminal(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	to := devchain.DevAddress(7)
	args := []string{"wallet", "fund", "--to", strings.ToLower(to.Hex()), "--amount", "0.5ether", "--signer", "env://TREASURY_KEY"}

	before := nonceOf(t, e, e.D.Treasury)
	pipe := e.Run(append(args, "--dry-run")...)
	if pipe.Code != 0 {
		t.Fatalf("%s", pipe)
	}
	want := summaryColumns(t, pipe.Stderr)

	for _, width := range []int{200, 80} {
		tm := e.Terminal(width, 40, args...)
		tm.Expect("Send this transaction? [y/N]")
		if !strings.Contains(tm.Raw(), "\x1b[") {
			t.Errorf("width %d: no colour on a terminal:\n%q", width, tm.Raw())
		}
		got := summaryColumns(t, tm.Text())
		for _, label := range []string{"call", "from", "to", "value", "chain", "nonce", "gas", "fees", "at most", "warning"} {
			if got[label] == 0 || got[label] != want["call"] || want[label] != want["call"] {
				t.Errorf("width %d: %q's value at cell %d on the terminal, %d in a pipe (call's: %d)\n%s", width, label, got[label], want[label], want["call"], tm.Text())
			}
		}
		for _, l := range strings.Split(tm.Text(), "\n") {
			if ui.Width(l) > width {
				t.Errorf("width %d: line of %d cells: %q", width, ui.Width(l), l)
			}
		}
		tm.Type("n\r")
		if code := tm.Wait(); code != 3 {
			t.Fatalf("declined: exit %d, want 3\n%s", code, tm.Text())
		}
	}
	if n := nonceOf(t, e, e.D.Treasury); n != before {
		t.Fatalf("a declined send sent something: the treasury's nonce went from %d to %d", before, n)
	}
}
