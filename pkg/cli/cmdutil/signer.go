package cmdutil

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// SignerAddress resolves a signer reference to its address.
func SignerAddress(ctx context.Context, ref string, lookupEnv func(string) (string, bool)) (common.Address, error) {
	return common.Address{}, errs.Usagef("signer references are not wired yet")
}
