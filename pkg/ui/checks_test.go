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
		"  ! gas price  60 gwei \n" +
		"  · head       #12     \n"
	if out.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}
