package clitest

import (
	"strings"
	"testing"
)

func TestAdviceCommands(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"top up immediately: vrwxctl wallet fund --to 0xAB --amount 0.5ether --signer env://T", []string{"wallet fund --to 0xAB --amount 0.5ether --signer env://T"}},
		{"vrwxctl tx speedup --nonce 3 --signer <relayer-ref> (fees +12.5%; raise it)", []string{"tx speedup --nonce 3 --signer <relayer-ref>"}},
		{"check the store (vrwxctl key versions --store file:///k.hex)", []string{"key versions --store file:///k.hex"}},
		{"follow it with `vrwxctl tx wait 0x12`, or resend; then vrwxctl audit list --tx 0x12; or not", []string{"tx wait 0x12", "audit list --tx 0x12"}},
		{"undo it: vrwxctl key rollback --store env://K, or restart", []string{"key rollback --store env://K"}},
		{"vrwxctl never overwrites", []string{"never overwrites"}},
	} {
		var got []string
		for _, w := range AdviceCommands(c.text) {
			got = append(got, strings.Join(w, " "))
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if !HasPlaceholder([]string{"tx", "speedup", "--signer", "<relayer-ref>"}) || !HasPlaceholder([]string{"key", "versions", "--store", "REF"}) ||
		HasPlaceholder([]string{"wallet", "fund", "--to", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--amount", "0.5ether"}) {
		t.Error("placeholders")
	}
}
