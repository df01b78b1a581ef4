package vrwx

import "github.com/ethereum/go-ethereum/accounts/abi"

var revertStringArgs = func() abi.Arguments {
	t, _ := abi.NewType("string", "", nil)
	return abi.Arguments{{Type: t}}
}()
