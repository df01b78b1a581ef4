package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/report"
)

func TestRenderChecksAlignsAndPutsTheFixUnderItsLine(t *testing.T) {
	var out bytes.Buffer
	io := Test(strings.NewReader(""), &out, &bytes.Buffer{})
	io.RenderChecks([]report.Check{
		{Name: "balance", Level: report.Crit, Value: "0.01 ETH", Detail: "critical below 0.05 ETH", Fix: "top up"},
		{Name: "nonce", Level: report.OK, Value: "latest 5"},
		{Name: "gas price", Level: report.Warn, Value: "60 gwei"},
		{Name: "head", Level: report.Info, Value: "#12"},
	})
	want := "" +
		"  ✗ balance    0.01 ETH  critical below 0.05 ETH\n" +
		"    fix: top up\n" +
		"  ✓ nonce      latest 5\n" +
		"  ! gas price  60 gwei\n" +
		"  · head       #12\n"
	if out.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}

// On a terminal the same checks are styled, and every line's value and detail start
// at the same cell as in a pipe; a detail too long for the terminal wraps under its
// own column, and one that quotes an error over two lines keeps that column in a
// pipe too.
func TestRenderChecksOnATerminalAlignAsInAPipeAndWrap(t *testing.T) {
	checks := []report.Check{
		{Name: "balance", Level: report.Crit, Value: "0.01 ETH", Detail: "critical below 0.05 ETH — top up the relayer before relays stop being mined", Fix: "vrwxctl wallet fund --to 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --amount 0.5ether --signer <treasury-ref>"},
		{Name: "nonce", Level: report.OK, Value: "latest 5", Detail: "no transactions waiting"},
		{Name: "head", Level: report.Crit, Value: "unreadable", Detail: "no RPC endpoint answered:\n  http://127.0.0.1:1: connection refused"},
	}
	var pipe, tty bytes.Buffer
	Test(nil, &pipe, &bytes.Buffer{}).RenderChecks(checks)
	io := &IO{Out: &tty, ErrOut: &bytes.Buffer{}, OutTTY: true, OutWidth: 60, Format: Text}
	io.RenderChecks(checks)
	if !strings.Contains(tty.String(), "\x1b[") {
		t.Fatalf("no colour on a terminal:\n%s", tty.String())
	}
	detailCol := func(out string, name string) int {
		for _, l := range strings.Split(stripANSI(out), "\n") {
			if strings.Contains(l, " "+name+" ") {
				i := strings.Index(l, "  "+map[string]string{"balance": "critical", "nonce": "no trans", "head": "no RPC"}[name])
				return Width(l[:i]) + 2
			}
		}
		t.Fatalf("no line for %s in\n%s", name, out)
		return 0
	}
	for _, name := range []string{"balance", "nonce", "head"} {
		if p, c := detailCol(pipe.String(), name), detailCol(tty.String(), name); p != c || p != detailCol(pipe.String(), "balance") {
			t.Errorf("%s: detail at column %d in a pipe, %d on a terminal (balance's: %d)", name, p, c, detailCol(pipe.String(), "balance"))
		}
	}
	col := detailCol(pipe.String(), "balance")
	for _, l := range strings.Split(strings.TrimRight(stripANSI(tty.String()), "\n"), "\n") {
		if Width(l) > 60 {
			t.Errorf("line wider than the 60-cell terminal: %q", l)
		}
	}
	if !strings.Contains(stripANSI(tty.String()), "\n"+strings.Repeat(" ", col)+"the relayer before") {
		t.Errorf("the long detail does not wrap under its column (%d):\n%s", col, stripANSI(tty.String()))
	}
	if !strings.Contains(pipe.String(), "no RPC endpoint answered:\n"+strings.Repeat(" ", col)+"http://127.0.0.1:1") {
		t.Errorf("a two-line detail loses its column in a pipe:\n%s", pipe.String())
	}
	if strings.Contains(pipe.String(), "relays stop being mined\n"+strings.Repeat(" ", col)) || strings.Count(pipe.String(), "top up the relayer before relays stop being mined") != 1 {
		t.Errorf("a pipe wraps nothing:\n%s", pipe.String())
	}
}
