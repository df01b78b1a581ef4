package cmdutil

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// ExactArgs is cobra.ExactArgs with a usage error (exit 2) naming the arguments.
func ExactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return errs.Usagef("%s takes %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, " "), len(args)).
				WithFix(fmt.Sprintf("see `%s --help`", cmd.CommandPath()))
		}
		return nil
	}
}

// MaxArgs is cobra.MaximumNArgs with a usage error.
func MaxArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return errs.Usagef("%s takes at most %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, " "), len(args)).
				WithFix(fmt.Sprintf("see `%s --help`", cmd.CommandPath()))
		}
		return nil
	}
}

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// ParseUint256 parses a decimal (or 0x hex) unsigned integer that fits in uint256.
func ParseUint256(what, s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 0)
	if !ok || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return nil, errs.Usagef("%s %q is not a number (expected a non-negative integer)", what, s)
	}
	if v.Sign() < 0 {
		return nil, errs.Usagef("%s %q is negative (expected a non-negative integer)", what, s)
	}
	if v.Cmp(maxUint256) > 0 {
		return nil, errs.Usagef("%s %q is larger than 2^256-1", what, s)
	}
	return v, nil
}

// ParseBytes32 parses a 0x-prefixed 32-byte hex value.
func ParseBytes32(what, s string) (common.Hash, error) {
	b, err := parseHex(s)
	if err != nil || len(b) != 32 {
		got := "not hex"
		if err == nil {
			got = fmt.Sprintf("%d bytes", len(b))
		}
		return common.Hash{}, errs.Usagef("%s %q is %s (expected 0x followed by 64 hex characters)", what, s, got)
	}
	return common.BytesToHash(b), nil
}

// ParseHexBytes parses 0x-prefixed hex of the given length (any length when n < 0).
func ParseHexBytes(what, s string, n int) ([]byte, error) {
	b, err := parseHex(s)
	if err != nil {
		return nil, errs.Usagef("%s %q is not hex (expected 0x followed by hex characters)", what, s)
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
