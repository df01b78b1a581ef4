package units

import (
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"0.5ether": "500000000000000000", "0.5 ETH": "500000000000000000", "1": "1000000000000000000",
		"10gwei": "10000000000", "1.5gwei": "1500000000", "1000wei": "1000", ".25": "250000000000000000",
		"0.000000000000000001": "1",
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
		v, err := ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatEther(v); got != s {
			t.Errorf("FormatEther(ParseAmount(%q)) = %q", s, got)
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
		"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc": "checksum",
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
