package doctor

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// A domain that is not the profile's (another chain id, another verifying contract)
// is critical; the judge reads nothing, so readings stand in for a foreign escrow.
func TestJudgeDomainMismatch(t *testing.T) {
	escrow := common.HexToAddress("0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B")
	other := common.HexToAddress("0xE15d5a642379D28Af1f36aC0e3C8E6A8f27bd8fd")
	domain, err := vrwx.EscrowABI().Methods["eip712Domain"].Outputs.Pack([1]byte{0x0f}, "VRWX", "2", big.NewInt(84532), other, [32]byte{}, []*big.Int{})
	if err != nil {
		t.Fatal(err)
	}
	checks := JudgeContracts(ContractReadings{ChainID: 8453, Escrow: escrow, Code: map[string]Read{"escrow": {Data: []byte{1}}}, Domain: Read{Data: domain}})
	for _, c := range checks {
		if c.Name != "eip712Domain" {
			continue
		}
		for _, w := range []string{`version "2", want "1"`, "chainId 84532, want 8453", "verifyingContract " + other.Hex()} {
			if !strings.Contains(c.Detail, w) {
				t.Errorf("detail %q lacks %q", c.Detail, w)
			}
		}
		if c.Level != Crit {
			t.Errorf("level %s", c.Level)
		}
		return
	}
	t.Fatal("no eip712Domain check")
}

func checkNamed(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, checks)
	return Check{}
}

// Return values are decoded by the ABI: a bool that is neither 0 nor 1, a uint8 out
// of range or a short answer is reported as such, never misread.
func TestJudgeDecodesReturnValuesStrictly(t *testing.T) {
	word := func(v int64) []byte { return common.LeftPadBytes(big.NewInt(v).Bytes(), 32) }
	token := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	base := ContractReadings{ChainID: 31337, Token: &token, Code: map[string]Read{}}
	for _, c := range []struct {
		paused             Read
		level              Level
		value, detailPart  string
		decimals           Read
		decLevel, decValue string
		jobCount           Read
		countLevel         Level
		countValue         string
	}{
		{Read{Data: word(1)}, Crit, "true", "", Read{Data: word(6)}, "ok", "6", Read{Data: word(12)}, OK, "12"},
		{Read{Data: word(0)}, OK, "false", "", Read{Data: word(18)}, "ok", "18", Read{Data: word(0)}, OK, "0"},
		{Read{Data: word(2)}, Info, "no pause switch", "not a bool", Read{Data: word(256)}, "crit", "invalid", Read{Data: word(1)[:31]}, Crit, "unreadable"},
		{Read{}, Info, "no pause switch", "cannot be paused", Read{Data: word(6)[:16]}, "crit", "unreadable", Read{}, Crit, "unreadable"},
	} {
		r := base
		r.Paused, r.Decimals, r.JobCount = c.paused, c.decimals, c.jobCount
		checks := JudgeContracts(r)
		p := checkNamed(t, checks, "paused")
		if p.Level != c.level || p.Value != c.value || !strings.Contains(p.Detail, c.detailPart) {
			t.Errorf("paused %x: %+v, want %s %q (%q)", c.paused.Data, p, c.level, c.value, c.detailPart)
		}
		d := checkNamed(t, checks, "token decimals")
		if string(d.Level) != c.decLevel || d.Value != c.decValue {
			t.Errorf("decimals %x: %+v, want %s %q", c.decimals.Data, d, c.decLevel, c.decValue)
		}
		n := checkNamed(t, checks, "jobCount")
		if n.Level != c.countLevel || n.Value != c.countValue {
			t.Errorf("jobCount %x: %+v, want %s %q", c.jobCount.Data, n, c.countLevel, c.countValue)
		}
	}
}
