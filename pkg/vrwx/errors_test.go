package vrwx

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
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
	if e := DecodeRevert(revertData(t, "Panic(uint256)", "uint256", big.NewInt(0x12))); e == nil || e.Name != "Panic" || !strings.Contains(e.Cause, "division or modulo by zero") {
		t.Fatalf("Panic(0x12): %+v", e)
	}
	if e := DecodeRevert(crypto.Keccak256([]byte("DeadlinePassed()"))[:4]); e == nil || e.Name != "DeadlinePassed" || e.Fix == "" {
		t.Fatalf("custom error: %+v", e)
	}
	if e := DecodeRevert([]byte{1, 2, 3, 4}); e != nil {
		t.Fatalf("unknown selector decoded as %+v", e)
	}
}

// The OpenZeppelin errors the escrow reverts with are named with their arguments,
// cause and fix; the selectors are the spec's.
func TestDecodeRevertOpenZeppelinErrors(t *testing.T) {
	t.Parallel()
	s := make([]byte, 32)
	s[0] = 0xff
	token := common.HexToAddress("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
	cases := []struct {
		data     []byte
		name     string
		selector string
		args     string
		cause    string
	}{
		{crypto.Keccak256([]byte("ECDSAInvalidSignature()"))[:4], "ECDSAInvalidSignature", "0xf645eedf", "", "cannot be recovered"},
		{revertData(t, "ECDSAInvalidSignatureLength(uint256)", "uint256", big.NewInt(64)), "ECDSAInvalidSignatureLength", "0xfce698f7", "length=64", "64 bytes, not 65"},
		{revertData(t, "ECDSAInvalidSignatureS(bytes32)", "bytes32", [32]byte(s)), "ECDSAInvalidSignatureS", "0xd78bce0c", "s=0xff" + strings.Repeat("00", 31), "high-s"},
		{revertData(t, "SafeERC20FailedOperation(address)", "address", token), "SafeERC20FailedOperation", "0x5274afe7", "token=" + token.Hex(), "token " + token.Hex() + " failed"},
		{crypto.Keccak256([]byte("EnforcedPause()"))[:4], "EnforcedPause", "0xd93c0665", "", "the escrow is paused"},
	}
	for _, tc := range cases {
		e := DecodeRevert(tc.data)
		if e == nil || e.Name != tc.name || e.Selector != tc.selector || strings.Join(e.Args, ",") != tc.args || !strings.Contains(e.Cause, tc.cause) || e.Fix == "" {
			t.Errorf("%s: decoded %+v", tc.name, e)
			continue
		}
		if got := e.Error(); !strings.HasPrefix(got, tc.name) || (tc.args != "" && !strings.Contains(got, tc.args)) {
			t.Errorf("%s: Error() = %q", tc.name, got)
		}
	}
	// A selector that matches but whose arguments are cut off is still named.
	if e := DecodeRevert(crypto.Keccak256([]byte("ECDSAInvalidSignatureS(bytes32)"))[:4]); e == nil || e.Name != "ECDSAInvalidSignatureS" || len(e.Args) != 0 {
		t.Errorf("truncated ECDSAInvalidSignatureS: %+v", e)
	}
}

// Panic(uint256) names its code and the code's meaning, with a fix.
func TestDecodeRevertPanicCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[int64]string{0x01: "assert", 0x11: "overflow", 0x12: "division or modulo by zero", 0x32: "out-of-bounds"} {
		e := DecodeRevert(revertData(t, "Panic(uint256)", "uint256", big.NewInt(code)))
		if e == nil || e.Name != "Panic" || e.Selector != "0x4e487b71" || strings.Join(e.Args, ",") != fmt.Sprintf("code=0x%x", code) ||
			!strings.Contains(e.Cause, want) || e.Fix == "" {
			t.Errorf("Panic(0x%x): %+v", code, e)
		}
	}
}
