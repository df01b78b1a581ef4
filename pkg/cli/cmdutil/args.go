package cmdutil

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// ExactArgs is cobra.ExactArgs with a usage error (exit 2) naming the arguments.
func ExactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return errs.Usagef("%s takes %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, " "), len(args)).
				WithFix(fmt.Sprintf("see `%s --help`", cmd.CommandPath()))
		}
		return noEmpty(cmd, args, names)
	}
}

// MaxArgs is cobra.MaximumNArgs with a usage error.
func MaxArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return errs.Usagef("%s takes at most %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, " "), len(args)).
				WithFix(fmt.Sprintf("see `%s --help`", cmd.CommandPath()))
		}
		return noEmpty(cmd, args, names)
	}
}

// noEmpty refuses an empty argument: it is almost always a shell variable that is
// not set, and taking it as "no argument" would act on a default instead (the
// profile's relayer for `wallet balance ""`).
func noEmpty(cmd *cobra.Command, args, names []string) error {
	for i, a := range args {
		if a != "" {
			continue
		}
		name := fmt.Sprintf("argument %d", i+1)
		if i < len(names) {
			name = names[i]
		}
		return errs.Usagef("%s: %s is empty (an unset shell variable?)", cmd.CommandPath(), name).
			WithFix(fmt.Sprintf("give %s a value, or leave it out; see `%s --help`", name, cmd.CommandPath()))
	}
	return nil
}

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// numberForm is the one form ids, counts and nonces take.
const numberForm = "decimal digits, or 0x followed by hex digits"

// ParseNumber parses an id, a count or a nonce: decimal digits (leading zeros are
// still decimal: 010 is ten), or 0x followed by hex digits. Nothing else — no
// octal, binary, sign or underscores — so a value means the same in every command.
// A value shaped like a private key is refused without being echoed.
func ParseNumber(what, s string) (*big.Int, error) {
	if redact.RegisterKeyLike(s) {
		return nil, errs.Usagef("%s has 64 hex digits, the shape of a private key; it is not shown (expected %s)", what, numberForm)
	}
	digits, base := s, 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		digits, base = s[2:], 16
	}
	ok := digits != ""
	for i := 0; ok && i < len(digits); i++ {
		c := digits[i]
		ok = '0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
	}
	v, parsed := new(big.Int).SetString(digits, base)
	if !ok || !parsed {
		return nil, errs.Usagef("%s %s is not a number (expected a non-negative integer: %s)", what, redact.Quote(s), numberForm)
	}
	return v, nil
}

// ParseUint256 parses an unsigned integer that fits in uint256 (ParseNumber's form).
func ParseUint256(what, s string) (*big.Int, error) {
	v, err := ParseNumber(what, s)
	if err != nil {
		return nil, err
	}
	if v.Cmp(maxUint256) > 0 {
		return nil, errs.Usagef("%s %s is larger than 2^256-1", what, redact.Quote(s))
	}
	return v, nil
}

// ParseUint parses an unsigned integer no larger than max (ParseNumber's form).
func ParseUint(what, s string, max uint64) (uint64, error) {
	v, err := ParseNumber(what, s)
	if err != nil {
		return 0, err
	}
	if !v.IsUint64() || v.Uint64() > max {
		return 0, errs.Usagef("%s %s is larger than %d", what, redact.Quote(s), max)
	}
	return v.Uint64(), nil
}

// ParseBytes32 parses a 0x-prefixed 32-byte hex value.
func ParseBytes32(what, s string) (common.Hash, error) {
	b, err := parseHex(s)
	if err != nil || len(b) != 32 {
		got := "not hex"
		if err == nil {
			got = fmt.Sprintf("%d bytes", len(b))
		}
		return common.Hash{}, errs.Usagef("%s %s is %s (expected 0x followed by 64 hex characters)", what, redact.Quote(s), got)
	}
	return common.BytesToHash(b), nil
}

// ParseHexBytes parses 0x-prefixed hex of the given length (any length when n < 0).
func ParseHexBytes(what, s string, n int) ([]byte, error) {
	b, err := parseHex(s)
	if err != nil {
		return nil, errs.Usagef("%s %s is not hex (expected 0x followed by hex characters)", what, redact.Quote(s))
	}
	if n >= 0 && len(b) != n {
		return nil, errs.Usagef("%s is %d bytes (expected %d bytes: 0x followed by %d hex characters)", what, len(b), n, 2*n)
	}
	return b, nil
}

func parseHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return nil, fmt.Errorf("missing 0x")
	}
	return hex.DecodeString(s[2:])
}
