package cmdutil

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// SignerAddress resolves a signer reference to its address. The key is read into
// memory to derive the address and goes no further.
func (f *Factory) SignerAddress(ctx context.Context, ref string) (common.Address, error) {
	k, err := secrets.ReadKey(ctx, ref, f.SecretsOptions())
	if err != nil {
		return common.Address{}, err
	}
	return k.Address(), nil
}
