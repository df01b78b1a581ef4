package vrwx

import (
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
)

// Selector returns the 4-byte selector of a's method.
func Selector(a *abi.ABI, method string) []byte {
	m, ok := a.Methods[method]
	if !ok {
		panic(fmt.Sprintf("vrwx: no method %s in embedded ABI", method))
	}
	return append([]byte(nil), m.ID...)
}

// DecodeUint reads a uint256 return value.
func DecodeUint(data []byte) (*big.Int, error) {
	if len(data) < 32 {
		return nil, fmt.Errorf("got %d bytes of return data, want a 32-byte uint256", len(data))
	}
	return new(big.Int).SetBytes(data[:32]), nil
}

// DecodeAddress reads an address return value; a word with bits above 160 set is
// not an address, which means the contract is not the one we think.
func DecodeAddress(data []byte) (common.Address, error) {
	if len(data) < 32 {
		return common.Address{}, fmt.Errorf("got %d bytes of return data, want a 32-byte address", len(data))
	}
	for _, b := range data[:12] {
		if b != 0 {
			return common.Address{}, fmt.Errorf("return value 0x%x is not an address", data[:32])
		}
	}
	return common.BytesToAddress(data[12:32]), nil
}

// DecodeBool reads a bool return value (exactly 0 or 1).
func DecodeBool(data []byte) (bool, error) {
	v, err := DecodeUint(data)
	if err != nil {
		return false, err
	}
	switch {
	case v.Sign() == 0:
		return false, nil
	case v.Cmp(big.NewInt(1)) == 0:
		return true, nil
	}
	return false, fmt.Errorf("return value %s is not a bool", v)
}

// DecodeDecimals reads an ERC-20 decimals() (uint8).
func DecodeDecimals(data []byte) (uint8, error) {
	v, err := DecodeUint(data)
	if err != nil {
		return 0, err
	}
	if v.BitLen() > 8 {
		return 0, fmt.Errorf("decimals %s does not fit in uint8", v)
	}
	return uint8(v.Uint64()), nil
}

// DecodeSymbol reads an ERC-20 symbol(): an ABI string, or the bytes32 some old
// tokens return. Up to 32 bytes of an ABI string are read (a program keeps 3 words).
func DecodeSymbol(data []byte) (string, error) {
	clean := func(b []byte) (string, error) {
		s := strings.TrimRight(string(b), "\x00")
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("symbol is not text")
		}
		return s, nil
	}
	switch {
	case len(data) == 32:
		return clean(data)
	case len(data) >= 64:
		off, _ := DecodeUint(data)
		if off.Cmp(big.NewInt(32)) != 0 {
			return "", fmt.Errorf("symbol: unexpected string offset %s", off)
		}
		n, _ := DecodeUint(data[32:])
		if !n.IsUint64() || n.Uint64() > uint64(len(data)-64) {
			return "", fmt.Errorf("symbol: string of %s bytes does not fit the return data", n)
		}
		return clean(data[64 : 64+n.Uint64()])
	}
	return "", fmt.Errorf("symbol: got %d bytes of return data", len(data))
}

// Robot is IdentityRegistry.getRobot's tuple.
type Robot struct {
	Controller   common.Address
	Pubkey       []byte
	MetadataHash common.Hash
	Active       bool
}

// Registered reports whether the robot has a controller.
func (r *Robot) Registered() bool { return r.Controller != (common.Address{}) }

// DecodeRobot decodes getRobot's return data.
func DecodeRobot(data []byte) (*Robot, error) {
	vals, err := RegistryABI().Unpack("getRobot", data)
	if err != nil {
		return nil, fmt.Errorf("decode getRobot: %w", err)
	}
	if len(vals) != 1 {
		return nil, fmt.Errorf("decode getRobot: %d values, want 1 tuple", len(vals))
	}
	var out struct {
		Controller   common.Address `abi:"controller"`
		Pubkey       []byte         `abi:"pubkey"`
		MetadataHash [32]byte       `abi:"metadataHash"`
		Active       bool           `abi:"active"`
	}
	if err := convertType(vals[0], &out); err != nil {
		return nil, fmt.Errorf("decode getRobot: %w", err)
	}
	return &Robot{Controller: out.Controller, Pubkey: out.Pubkey, MetadataHash: out.MetadataHash, Active: out.Active}, nil
}

// EIP712DomainInfo is eip712Domain()'s answer (EIP-5267).
type EIP712DomainInfo struct {
	Fields            byte
	Name              string
	Version           string
	ChainID           *big.Int
	VerifyingContract common.Address
	Salt              common.Hash
	Extensions        []*big.Int
}

// DecodeEIP712Domain decodes eip712Domain()'s return data.
func DecodeEIP712Domain(data []byte) (*EIP712DomainInfo, error) {
	vals, err := EscrowABI().Unpack("eip712Domain", data)
	if err != nil {
		return nil, fmt.Errorf("decode eip712Domain: %w", err)
	}
	if len(vals) != 7 {
		return nil, fmt.Errorf("decode eip712Domain: %d values, want 7", len(vals))
	}
	d := &EIP712DomainInfo{}
	fields, ok1 := vals[0].([1]byte)
	name, ok2 := vals[1].(string)
	version, ok3 := vals[2].(string)
	chainID, ok4 := vals[3].(*big.Int)
	vc, ok5 := vals[4].(common.Address)
	salt, ok6 := vals[5].([32]byte)
	ext, ok7 := vals[6].([]*big.Int)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return nil, fmt.Errorf("decode eip712Domain: unexpected value types")
	}
	d.Fields, d.Name, d.Version, d.ChainID, d.VerifyingContract, d.Salt, d.Extensions = fields[0], name, version, chainID, vc, salt, ext
	return d, nil
}

// convertType is abi.ConvertType, which panics when the shapes differ: here that
// means the contract answered with another tuple, an error to report.
func convertType(in, proto any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unexpected tuple shape: %v", r)
		}
	}()
	abi.ConvertType(in, proto)
	return nil
}
