// Package units parses and prints the values operators type and read: addresses
// (with EIP-55 checksum checks), ether amounts with units as cast writes them
// (0.5ether, 10gwei, 1000wei), and fixed-point token amounts.
package units

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// ParseAddress accepts a 0x-prefixed 20-byte hex address. A mixed-case address must
// carry a valid EIP-55 checksum: a typo in a checksummed address is caught, not sent to.
func ParseAddress(s string) (common.Address, error) {
	if err := checkAddress(s); err != nil {
		return common.Address{}, errs.Usagef("%v", err)
	}
	return common.HexToAddress(s), nil
}

func checkAddress(s string) error {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return fmt.Errorf("%q is not an address (expected 0x followed by 40 hex characters)", s)
	}
	if !common.IsHexAddress(s) || len(s) != 42 {
		return fmt.Errorf("%q is not an address (expected 0x followed by 40 hex characters)", s)
	}
	body := s[2:]
	if body != strings.ToLower(body) && body != strings.ToUpper(body) {
		if want := common.HexToAddress(s).Hex(); want != s {
			return fmt.Errorf("%q has a wrong EIP-55 checksum (did you mean %s? check for a typo)", s, want)
		}
	}
	return nil
}

// CheckAddress is ParseAddress without the result, for validation.
func CheckAddress(s string) error { _, err := ParseAddress(s); return err }

var (
	weiPerEther = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	weiPerGwei  = big.NewInt(1_000_000_000)
)

// ParseAmount parses an ether amount: "0.5ether", "0.5 eth", "10gwei", "1000wei", or a
// plain decimal meaning ether. It returns wei. Negative amounts and more decimals than
// the unit allows are bad input.
func ParseAmount(s string) (*big.Int, error) {
	in := strings.TrimSpace(strings.ToLower(s))
	decimals := 18
	num := in
	for _, u := range []struct {
		suffix   string
		decimals int
	}{{"ether", 18}, {"eth", 18}, {"gwei", 9}, {"wei", 0}} {
		if strings.HasSuffix(in, u.suffix) {
			num = strings.TrimSpace(strings.TrimSuffix(in, u.suffix))
			decimals = u.decimals
			break
		}
	}
	v, err := ParseFixed(num, decimals)
	if err == nil && v.BitLen() > 256 {
		// A transaction's value is a uint256: a larger number cannot be signed.
		err = fmt.Errorf("more than 2^256-1 wei, the largest value a transaction can carry")
	}
	if err != nil {
		return nil, errs.Usagef("amount %q: %v (expected e.g. 0.5ether, 10gwei, 1000wei or 0.5)", s, err)
	}
	return v, nil
}

// ParseFixed parses a non-negative decimal string into an integer scaled by 10^decimals.
func ParseFixed(num string, decimals int) (*big.Int, error) {
	if num == "" {
		return nil, fmt.Errorf("no number")
	}
	if strings.HasPrefix(num, "-") {
		return nil, fmt.Errorf("negative amounts are not allowed")
	}
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" {
		return nil, fmt.Errorf("no number")
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return nil, fmt.Errorf("%q is not a decimal number or has an unknown unit", num)
			}
		}
	}
	if len(frac) > decimals {
		return nil, fmt.Errorf("more than %d decimals", decimals)
	}
	frac += strings.Repeat("0", decimals-len(frac))
	v, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return nil, fmt.Errorf("%q is not a number", num)
	}
	return v, nil
}

// FormatFixed prints v / 10^decimals exactly, without trailing zeros ("0.5", "12").
func FormatFixed(v *big.Int, decimals int) string {
	if v == nil {
		return "0"
	}
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// FormatEther prints wei as ether, exactly.
func FormatEther(wei *big.Int) string { return FormatFixed(wei, 18) }

// FormatGwei prints wei as gwei, exactly.
func FormatGwei(wei *big.Int) string { return FormatFixed(wei, 9) }

// EtherToWei converts a decimal ether value to wei, truncating beyond 18 decimals.
func EtherToWei(r *big.Rat) *big.Int { return ratToInt(r, weiPerEther) }

// GweiToWei converts a decimal gwei value to wei, truncating below 1 wei.
func GweiToWei(r *big.Rat) *big.Int { return ratToInt(r, weiPerGwei) }

func ratToInt(r *big.Rat, scale *big.Int) *big.Int {
	n := new(big.Int).Mul(r.Num(), scale)
	return n.Quo(n, r.Denom())
}

// WeiToEtherFloat is for metrics and thresholds display only, never for amounts sent.
func WeiToEtherFloat(wei *big.Int) float64 {
	f, _ := new(big.Rat).SetFrac(wei, weiPerEther).Float64()
	return f
}
