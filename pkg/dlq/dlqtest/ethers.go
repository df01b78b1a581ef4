// Package dlqtest builds DLQ reason texts exactly as the live API writes them: ethers
// v6's error messages (makeError and its stringify), from real answers of a real
// node — an eth_estimateGas that reverts, an eth_sendRawTransaction refused for
// insufficient funds. Test support only: the binary links none of it.
package dlqtest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// EthersVersion is the ethers version the live API runs (spec/VRWX.md).
const EthersVersion = "6.16.0"

// Bare is a value ethers prints without quotes (a code, a number).
type Bare string

// KV is one detail of an ethers error, in the order ethers' info object has it.
type KV struct {
	Key   string
	Value any
}

// Ethers is ethers v6's makeError message: the short message, then every detail
// as key=stringify(value), then code and version.
func Ethers(message, code string, info ...KV) string {
	var details []string
	for _, kv := range info {
		details = append(details, kv.Key+"="+Stringify(kv.Value))
	}
	details = append(details, "code="+code, "version="+EthersVersion)
	return message + " (" + strings.Join(details, ", ") + ")"
}

// Stringify is ethers v6's stringify: null, JSON strings, bare numbers and bigints,
// Uint8Arrays as 0x hex, `[ a, b ]`, and `{ "k": v }` with the keys sorted.
func Stringify(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case Bare:
		return string(t)
	case string:
		b, _ := json.Marshal(t)
		return string(b)
	case bool:
		return fmt.Sprint(t)
	case int, int64, uint64, uint32, uint8:
		return fmt.Sprint(t)
	case *big.Int:
		return t.String()
	case []byte:
		return "0x" + hex.EncodeToString(t)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = Stringify(e)
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = Stringify(k) + ": " + Stringify(t[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return "[ COULD NOT SERIALIZE ]"
}

// EstimateGasReason asks the node for eth_estimateGas of the call, as ethers does
// before it sends, and returns the message ethers makes of the revert (the TX_FAIL
// reason the API stores). It is an error when the call does not revert.
func EstimateGasReason(ctx context.Context, c *rpc.Client, from, to common.Address, data []byte) (string, error) {
	var gas hexutil.Uint64
	err := c.CallContext(ctx, &gas, "eth_estimateGas", map[string]any{"from": from, "to": to, "data": hexutil.Bytes(data)})
	if err == nil {
		return "", fmt.Errorf("eth_estimateGas did not revert (gas %d)", gas)
	}
	var de rpc.DataError
	if !errors.As(err, &de) {
		return "", fmt.Errorf("eth_estimateGas failed without revert data: %w", err)
	}
	revert, _ := de.ErrorData().(string)
	return CallException("estimateGas", revert, from, to, data), nil
}

// CallException is ethers' CALL_EXCEPTION message for revert data (hex) of a call
// from → to with data, worded as its getBuiltinCallException words it, with the
// details in the shape spec/VRWX.md records from the live API.
func CallException(action, revert string, from, to common.Address, data []byte) string {
	msg := "missing revert data"
	var reason any
	b, _ := hexutil.Decode(revert)
	if revert != "" {
		msg = "execution reverted"
		switch {
		case len(b) == 0:
			msg += " (no data present; likely require(false) occurred"
			reason = "require(false)"
		case len(b)%32 != 4:
			msg += " (could not decode reason; invalid data length)"
		case hex.EncodeToString(b[:4]) == "08c379a0" || hex.EncodeToString(b[:4]) == "4e487b71":
			msg += " (a Solidity Error or Panic)"
		default:
			msg += " (unknown custom error)"
		}
	}
	var dataVal any
	if revert != "" {
		dataVal = strings.ToLower(revert)
	}
	tx := map[string]any{"data": "0x" + hex.EncodeToString(data), "from": from.Hex(), "to": to.Hex()}
	return Ethers(msg, "CALL_EXCEPTION",
		KV{"action", action}, KV{"data", dataVal}, KV{"reason", reason}, KV{"transaction", tx},
		KV{"invocation", nil}, KV{"revertData", nil})
}

// InsufficientFundsReason is the message ethers makes when the node refuses a signed
// transaction (raw) for want of funds: the whole signed transaction, and the node's
// own error.
func InsufficientFundsReason(raw []byte, nodeCode int, nodeMessage string) string {
	return Ethers("insufficient funds for intrinsic transaction cost", "INSUFFICIENT_FUNDS",
		KV{"transaction", "0x" + hex.EncodeToString(raw)},
		KV{"info", map[string]any{"error": map[string]any{"code": Bare(fmt.Sprint(nodeCode)), "message": nodeMessage}}})
}

// SendRawReason sends a signed transaction to the node and returns the message
// ethers makes of the node's refusal when it is for insufficient funds (the
// INSUFFICIENT_FUNDS shape), with the node's own code and message. It is an error
// when the node accepts the transaction or refuses it for another reason.
func SendRawReason(ctx context.Context, c *rpc.Client, raw []byte) (string, error) {
	var hash common.Hash
	err := c.CallContext(ctx, &hash, "eth_sendRawTransaction", hexutil.Bytes(raw))
	if err == nil {
		return "", fmt.Errorf("the node accepted the transaction %s", hash.Hex())
	}
	var re rpc.Error
	if !errors.As(err, &re) || !strings.Contains(strings.ToLower(re.Error()), "insufficient funds") {
		return "", fmt.Errorf("the node refused it, but not for insufficient funds: %w", err)
	}
	return InsufficientFundsReason(raw, re.ErrorCode(), re.Error()), nil
}
