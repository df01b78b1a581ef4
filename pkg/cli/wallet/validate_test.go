package wallet_test

import (
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Fee settings no relayer would send with, and amounts no transaction can carry, are
// bad input: exit 2 naming the value and the expected form; nothing signed, sent or
// journaled.
func TestSendSettingsOutOfRange(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	to := devchain.DevAddress(7).Hex()
	n0 := nonceOf(t, e, e.D.Treasury)
	for _, tc := range []struct {
		env, value string
		want       []string
	}{
		{"GAS_LIMIT_MULTIPLIER", "0.5", []string{"GAS_LIMIT_MULTIPLIER", "0.5", "[1, 10]"}},
		{"GAS_LIMIT_MULTIPLIER", "11", []string{"GAS_LIMIT_MULTIPLIER", "11", "[1, 10]"}},
		{"MAX_FEE_PER_GAS_GWEI", "0", []string{"MAX_FEE_PER_GAS_GWEI", "not a positive fee cap"}},
		{"MAX_PRIORITY_FEE_GWEI", "0", []string{"MAX_PRIORITY_FEE_GWEI", "not a positive fee cap"}},
	} {
		e.Vars[tc.env] = tc.value
		for _, args := range [][]string{
			{"wallet", "fund", "--to", to, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--yes"},
			{"wallet", "drain", "--signer", "env://TREASURY_KEY", "--to", to, "--allow-non-treasury", "--yes"},
		} {
			r := e.Run(args...)
			if r.Code != 2 {
				t.Errorf("%s=%s: want exit 2:\n%s", tc.env, tc.value, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("%s=%s: stderr should name %q:\n%s", tc.env, tc.value, w, r)
				}
			}
		}
		delete(e.Vars, tc.env)
	}
	huge := "115792089237316195423570985008687907853269984665640564039457584007913129639936wei" // 2^256
	r := e.Run("wallet", "fund", "--to", to, "--amount", huge, "--signer", "env://TREASURY_KEY", "--yes", "--force")
	if r.Code != 2 || !strings.Contains(r.Stderr, "2^256-1") {
		t.Fatalf("want exit 2 for an amount beyond uint256:\n%s", r)
	}
	if nonceOf(t, e, e.D.Treasury) != n0 || len(auditEntries(t, e)) != 0 {
		t.Fatal("bad settings signed, sent or journaled something")
	}
}
