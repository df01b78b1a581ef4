package audit_test

import (
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// A payment and a dry run leave lines in the log; audit list shows them and each
// filter narrows them to what it names.
func TestListsAndFiltersTheLog(t *testing.T) {
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	to := devchain.DevAddress(8).Hex()
	e.MustRun(0, "wallet", "fund", "--to", to, "--amount", "0.01ether", "--signer", "env://TREASURY_KEY", "--yes", "--reason", "INC-7 top-up")
	e.MustRun(0, "wallet", "fund", "--to", devchain.DevAddress(9).Hex(), "--amount", "0.02ether", "--signer", "env://TREASURY_KEY", "--dry-run")

	var all audit.ListJSON
	e.MustRun(0, "audit", "list", "-o", "json").JSON(t, &all)
	if len(all.Entries) != 3 || all.Entries[0].Outcome != "sent" || all.Entries[1].Outcome != "mined" || all.Entries[2].Outcome != "dry-run" {
		t.Fatalf("entries %+v", all.Entries)
	}
	sent := all.Entries[0]
	if sent.Command != "wallet fund" || !strings.EqualFold(sent.To, to) || sent.Reason != "INC-7 top-up" || sent.TxHash == "" {
		t.Fatalf("sent line %+v", sent)
	}
	count := func(args ...string) int {
		t.Helper()
		var l audit.ListJSON
		e.MustRun(0, append([]string{"audit", "list", "-o", "json"}, args...)...).JSON(t, &l)
		return len(l.Entries)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--outcome", "mined"}, 1},
		{[]string{"--command", "wallet"}, 3},
		{[]string{"--command", "wallet drain"}, 0},
		{[]string{"--account", to}, 2},
		{[]string{"--tx", sent.TxHash}, 2},
		{[]string{"--since", "1h"}, 3},
		{[]string{"--since", "2099-01-01"}, 0},
		{[]string{"--limit", "1"}, 1},
	} {
		if got := count(c.args...); got != c.want {
			t.Errorf("%v: %d lines, want %d", c.args, got, c.want)
		}
	}
	r := e.MustRun(0, "audit", "list", "--outcome", "mined")
	for _, want := range []string{"mined", "wallet fund", sent.TxHash, "INC-7 top-up"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.Stderr, "1 matching line(s) (3 in the log)") {
		t.Errorf("stderr does not count the lines:\n%s", r)
	}
	r = e.MustRun(0, "audit", "list", "--limit", "2")
	if strings.Count(r.Stdout, "\n") != 3 || !strings.Contains(r.Stderr, "the newest 2 of 3 matching line(s) (3 in the log; --limit 0 shows all)") {
		t.Errorf("--limit 2:\n%s", r)
	}
}

func TestEmptyLogAndBadInput(t *testing.T) {
	e := clitest.New(t)
	r := e.MustRun(0, "audit", "list")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "empty or absent") {
		t.Errorf("empty log:\n%s", r)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--outcome", "ok"}, `--outcome "ok"`},
		{[]string{"--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"--account", "0x12"}, "--account"},
		{[]string{"--tx", "0x12"}, "--tx"},
		{[]string{"--limit", "-1"}, `--limit "-1"`},
		{[]string{"--limit", "1", "--limit", "2"}, "--limit given more than once"},
	} {
		r := e.Run(append([]string{"audit", "list"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: want exit 2 naming %q:\n%s", c.args, c.want, r)
		}
	}
}

// A --reason holding a newline, a tab, a window-title and a clear-screen sequence is
// recorded as given (JSON carries it exactly) and rendered escaped: audit list
// shows one row for it, with --no-color and without, and no control sequence
// reaches the terminal.
func TestReasonCannotForgeRowsOrDriveTheTerminal(t *testing.T) {
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	reason := "INC-9\n2026-01-01 00:00:00  mined  wallet fund  forged\tx\x1b]0;pwned\a\x1b[2J\u009b2J"
	e.MustRun(0, "wallet", "fund", "--to", devchain.DevAddress(9).Hex(), "--amount", "0.02ether", "--signer", "env://TREASURY_KEY", "--dry-run", "--reason", reason)
	for _, args := range [][]string{{"audit", "list"}, {"audit", "list", "--no-color"}} {
		r := e.MustRun(0, args...)
		lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], `INC-9\n2026-01-01`) || !strings.HasPrefix(r.Stderr, "1 matching line(s)") {
			t.Fatalf("want the header and one row (the newline shown as \\n), the count on stderr:\n%s", r)
		}
		for _, bad := range []string{"\x1b", "\a", "\u009b", "\t"} {
			if strings.Contains(r.Stdout+r.Stderr, bad) {
				t.Fatalf("%q reached the output:\n%q", bad, r.Stdout)
			}
		}
	}
	var l audit.ListJSON
	e.MustRun(0, "audit", "list", "-o", "json").JSON(t, &l)
	if len(l.Entries) != 1 || l.Entries[0].Reason != reason {
		t.Fatalf("-o json does not carry the reason as given: %+v", l.Entries)
	}
}
