package units

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"0.5ether": "500000000000000000", "0.5 ETH": "500000000000000000", "1eth": "1000000000000000000",
		"10gwei": "10000000000", "1.5gwei": "1500000000", "1000wei": "1000", ".25ether": "250000000000000000",
		"0.000000000000000001ether": "1", "500000000000000000wei": "500000000000000000", "0": "0", "0.0": "0",
	}
	for in, want := range good {
		v, err := ParseAmount(in)
		if err != nil || v.String() != want {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s", in, v, err, want)
		}
	}
	bad := map[string]string{
		"1btc": "unknown unit", "-1ether": "negative", "0.0000000000000000001": "more than 18 decimals",
		"1.5wei": "more than 0 decimals", "": "no number", "ether": "no number", "1e18": "unknown unit",
		"0x" + strings.Repeat("ab", 32) + "wei": "shape of a private key",
	}
	for in, want := range bad {
		_, err := ParseAmount(in)
		if errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "expected") {
			t.Errorf("ParseAmount(%q) error %v; want usage error mentioning %q", in, err, want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "1", "0.5", "123.000000000000000001", "0.05"} {
		v, err := ParseAmount(s + "ether")
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatEther(v); got != s {
			t.Errorf("FormatEther(ParseAmount(%q)) = %q", s, got)
		}
	}
}

// A number without a unit is refused, naming what it would be as ether and as wei:
// `--amount 5000` is not 5000 ETH, and a wei value typed as cast users do is not 5e17 ETH.
func TestAmountWithoutUnit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"5000":               {"no unit", "5000ether is 5000 ETH", "5000wei is 0.000000000000005 ETH"},
		"500000000000000000": {"no unit", "500000000000000000ether is 500000000000000000 ETH", "500000000000000000wei is 0.5 ETH"},
		"0.5":                {"no unit", "0.5ether is 0.5 ETH", "as wei it is not a whole number"},
	} {
		_, err := ParseAmount(in)
		if errs.KindOf(err) != errs.Usage {
			t.Fatalf("ParseAmount(%q) = %v; want a usage error", in, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseAmount(%q): %q lacks %q", in, err, w)
			}
		}
		if !strings.Contains(errs.FixOf(err), in+"ether") {
			t.Errorf("ParseAmount(%q): fix %q does not show the unit written out", in, errs.FixOf(err))
		}
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	ok := []string{"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", "0x3C44CDDDB6A900FA2B585DD299E03D12FA4293BC"}
	for _, s := range ok {
		if _, err := ParseAddress(s); err != nil {
			t.Errorf("ParseAddress(%q): %v", s, err)
		}
	}
	bad := map[string]string{
		"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc": "does not match its EIP-55 checksum",
		"3C44CdDdB6a900fa2b585dd299e03d12FA4293BC":   "40 hex",
		"0x3C44": "40 hex",
		"0xZZ44CdDdB6a900fa2b585dd299e03d12FA4293BC": "40 hex",
	}
	for in, want := range bad {
		_, err := ParseAddress(in)
		if errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseAddress(%q) = %v; want usage error naming it and %q", in, err, want)
		}
	}
}

// A one-character typo in a checksummed address is refused without suggesting an
// address: the "correct" checksum of a typo is the typo, and pasting it would send
// there.
func TestChecksumTypoSuggestsNothing(t *testing.T) {
	t.Parallel()
	good := "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
	typo := "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BD" // last character changed
	_, err := ParseAddress(typo)
	if errs.KindOf(err) != errs.Usage {
		t.Fatalf("ParseAddress(typo) = %v", err)
	}
	text := err.Error() + " " + errs.FixOf(err)
	eip55OfTypo := common.HexToAddress(typo).Hex()
	for _, s := range []string{eip55OfTypo, "did you mean", strings.ToLower(good)} {
		if strings.Contains(text, s) {
			t.Errorf("the error suggests an address (%q): %s", s, text)
		}
	}
	for _, s := range []string{"character is wrong", "by hand", "copy the address again from its source"} {
		if !strings.Contains(text, s) {
			t.Errorf("the error lacks %q: %s", s, text)
		}
	}
}

// A private key where an address belongs is refused without being echoed.
func TestKeyWhereAddressBelongs(t *testing.T) {
	t.Parallel()
	k := strings.Repeat("5d", 32)
	for _, in := range []string{k, "0x" + k} {
		_, err := ParseAddress(in)
		if errs.KindOf(err) != errs.Usage || strings.Contains(err.Error()+errs.FixOf(err), k[:16]) || !strings.Contains(err.Error(), "private key") {
			t.Errorf("ParseAddress(key) = %v", err)
		}
	}
}
