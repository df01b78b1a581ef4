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
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// ParseAddress accepts a 0x-prefixed 20-byte hex address. A mixed-case address must
// carry a valid EIP-55 checksum: a typo in a checksummed address is caught, not sent
// to — and no "corrected" address is ever suggested, since the checksum of a typo is
// the typo. A value shaped like a private key is refused without being echoed.
func ParseAddress(s string) (common.Address, error) {
	if err := checkAddress(s); err != nil {
		return common.Address{}, err
	}
	return common.HexToAddress(s), nil
}

func checkAddress(s string) error {
	if redact.RegisterKeyLike(s) {
		return errs.Usagef("the value given where an address belongs has 64 hex digits, the shape of a private key (an address has 40); it is not shown").
			WithFix("give the address (0x followed by 40 hex characters); if a private key was typed on a command line, rotate it")
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return errs.Usagef("%s is not an address (expected 0x followed by 40 hex characters)", redact.Quote(s))
	}
	if !common.IsHexAddress(s) || len(s) != 42 {
		return errs.Usagef("%s is not an address (expected 0x followed by 40 hex characters)", redact.Quote(s))
	}
	if !Checksummed(s) && !Unchecksummed(s) {
		return errs.Usagef("%s does not match its EIP-55 checksum (the mix of upper and lower case): a character is wrong, or the address was edited by hand", redact.Quote(s)).
			WithFix("copy the address again from its source; do not retype it")
	}
	return nil
}

// Checksummed reports whether s is an address in mixed case with a valid EIP-55
// checksum.
func Checksummed(s string) bool {
	return len(s) == 42 && !Unchecksummed(s) && common.IsHexAddress(s) && common.HexToAddress(s).Hex() == "0x"+s[2:]
}

// Unchecksummed reports whether s is written in one case only, so it carries no
// checksum that could catch a typo.
func Unchecksummed(s string) bool {
	body := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return body == strings.ToLower(body) || body == strings.ToUpper(body)
}

// CheckAddress is ParseAddress without the result, for validation.
func CheckAddress(s string) error { _, err := ParseAddress(s); return err }

var (
	weiPerEther = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	weiPerGwei  = big.NewInt(1_000_000_000)
)

// Amount units, as cast writes them.
var amountUnits = []struct {
	suffix   string
	decimals int
}{{"ether", 18}, {"eth", 18}, {"gwei", 9}, {"wei", 0}}

// ParseAmount parses an ether amount with its unit: "0.5ether", "0.5 eth", "10gwei",
// "1000wei". It returns wei. A number without a unit means nothing certain — cast
// reads it as wei, people as ether — so it is bad input naming both readings; only
// zero, the same in every unit, needs none. Negative amounts, more decimals than
// the unit allows and values beyond uint256 are bad input too.
func ParseAmount(s string) (*big.Int, error) {
	in := strings.TrimSpace(strings.ToLower(s))
	const expected = "expected a number with its unit, e.g. 0.5ether, 10gwei or 1000wei"
	num, decimals, unit := in, -1, ""
	for _, u := range amountUnits {
		if strings.HasSuffix(in, u.suffix) {
			num = strings.TrimSpace(strings.TrimSuffix(in, u.suffix))
			decimals, unit = u.decimals, u.suffix
			break
		}
	}
	if redact.RegisterKeyLike(num) {
		return nil, errs.Usagef("the amount given has 64 hex digits, the shape of a private key; it is not shown (%s)", expected)
	}
	if decimals < 0 {
		v, err := ParseFixed(in, 18)
		switch {
		case err != nil:
			return nil, errs.Usagef("amount %s: %v (%s)", redact.Quote(s), err, expected)
		case v.Sign() == 0:
			return v, nil
		}
		readings := fmt.Sprintf("%sether is %s ETH", in, FormatEther(v))
		if w, err := ParseFixed(in, 0); err == nil {
			readings += fmt.Sprintf(", %swei is %s ETH", in, FormatEther(w))
		} else {
			readings += ", and as wei it is not a whole number"
		}
		return nil, errs.Usagef("amount %s has no unit: %s", redact.Quote(s), readings).
			WithFix("write the unit: " + in + "ether, " + in + "gwei or " + in + "wei")
	}
	v, err := ParseFixed(num, decimals)
	if err == nil && v.BitLen() > 256 {
		// A transaction's value is a uint256: a larger number cannot be signed.
		err = fmt.Errorf("more than 2^256-1 wei, the largest value a transaction can carry")
	}
	if err != nil {
		return nil, errs.Usagef("amount %s (%s): %v (%s)", redact.Quote(s), unit, err, expected)
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
				return nil, fmt.Errorf("%s is not a decimal number or has an unknown unit", redact.Quote(num))
			}
		}
	}
	if len(frac) > decimals {
		return nil, fmt.Errorf("more than %d decimals", decimals)
	}
	frac += strings.Repeat("0", decimals-len(frac))
	v, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return nil, fmt.Errorf("%s is not a number", redact.Quote(num))
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
