package health

import (
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// Expect is what an operator expects /health to report. Zero fields are not checked.
type Expect struct {
	// ChainID is the profile's chain id.
	ChainID uint64
	// Relayer is the address the API should relay from: after a rotation, the
	// address of the secret store's current key.
	Relayer *common.Address
	// RelayerFrom says where Relayer came from ("--expect-relayer", "--expect-signer
	// aws-sm://…"), for messages.
	RelayerFrom string
}

// Mismatch is one way an answer differs from what was expected.
type Mismatch struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// Compare checks h against want: status "ok", the chain id, the relayer address.
func Compare(h Health, want Expect) []Mismatch {
	var out []Mismatch
	if h.Status != "ok" {
		out = append(out, Mismatch{Field: "status", Expected: "ok", Actual: h.Status,
			Message: fmt.Sprintf("the API reports status %q, not \"ok\"", h.Status),
			Fix:     "check the API's logs (kubectl logs -l app=vrwx-api)"})
	}
	if want.ChainID != 0 && h.ChainID != want.ChainID {
		out = append(out, Mismatch{Field: "chainId", Expected: strconv.FormatUint(want.ChainID, 10), Actual: strconv.FormatUint(h.ChainID, 10),
			Message: fmt.Sprintf("the API runs on chain %d, but the profile is on chain %d", h.ChainID, want.ChainID),
			Fix:     "point --api-url / api_url at the API of this profile's network, or choose the matching --profile (the API's chain is its DEFAULT_CHAIN_ID)"})
	}
	if want.Relayer != nil {
		from := want.RelayerFrom
		if from == "" {
			from = "expected"
		}
		switch {
		case h.RelayerAddress == nil:
			out = append(out, Mismatch{Field: "relayerAddress", Expected: want.Relayer.Hex(), Actual: "null",
				Message: fmt.Sprintf("the API reports no relayer (relayMode %q); expected %s (%s)", h.RelayMode, want.Relayer.Hex(), from),
				Fix:     "the API is not in relay mode: check its RELAYER_PRIVATE_KEY secret and restart it (kubectl rollout restart deployment/vrwx-api)"})
		case *h.RelayerAddress != *want.Relayer:
			out = append(out, Mismatch{Field: "relayerAddress", Expected: want.Relayer.Hex(), Actual: h.RelayerAddress.Hex(),
				Message: fmt.Sprintf("the API relays from %s, but %s was expected (%s)", h.RelayerAddress.Hex(), want.Relayer.Hex(), from),
				Fix: "if a rotation just made a new key current, the API still runs the old one: restart it so it reads the secret again " +
					"(kubectl rollout restart deployment/vrwx-api), then run this check again; if the API is right, the expectation is stale"})
		}
	}
	return out
}
