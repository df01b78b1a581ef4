package vrwx

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/crypto"
)

func revertData(t *testing.T, sig, typ string, arg any) []byte {
	t.Helper()
	ty, err := abi.NewType(typ, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := abi.Arguments{{Type: ty}}.Pack(arg)
	if err != nil {
		t.Fatal(err)
	}
	return append(crypto.Keccak256([]byte(sig))[:4], enc...)
}

func TestDecodeRevertCoversErrorPanicAndCustomErrors(t *testing.T) {
	if e := DecodeRevert(revertData(t, "Error(string)", "string", "not enough")); e == nil || e.Name != "Error" || e.Cause != "not enough" {
		t.Fatalf("Error(string): %+v", e)
	}
	if e := DecodeRevert(revertData(t, "Panic(uint256)", "uint256", big.NewInt(0x12))); e == nil || e.Name != "Panic" || e.Cause != "division or modulo by zero" {
		t.Fatalf("Panic(0x12): %+v", e)
	}
	if e := DecodeRevert(crypto.Keccak256([]byte("DeadlinePassed()"))[:4]); e == nil || e.Name != "DeadlinePassed" || e.Fix == "" {
		t.Fatalf("custom error: %+v", e)
	}
	if e := DecodeRevert([]byte{1, 2, 3, 4}); e != nil {
		t.Fatalf("unknown selector decoded as %+v", e)
	}
}
