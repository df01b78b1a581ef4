package chain

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// otsTxJSON is a signed transfer as an Otterscan page lists it: the transaction's
// JSON with its sender, and its block when block is not 0.
func otsTxJSON(t *testing.T, key int, nonce, block, blockTime uint64) (json.RawMessage, common.Hash) {
	t.Helper()
	to := devchain.DevAddress(9)
	tx, err := types.SignTx(types.NewTx(&types.LegacyTx{Nonce: nonce, To: &to, Value: big.NewInt(1), Gas: 21000, GasPrice: big.NewInt(1)}),
		types.NewEIP155Signer(new(big.Int).SetUint64(devchain.DefaultChainID)), devchain.DevKey(key))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["from"] = devchain.DevAddress(key).Hex()
	if block != 0 {
		m["blockNumber"] = "0x" + big.NewInt(int64(block)).Text(16)
	}
	if blockTime != 0 {
		m["blockTimestamp"] = "0x" + big.NewInt(int64(blockTime)).Text(16)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out, tx.Hash()
}

// A page's own transactions, newest first, with the time from the transaction or,
// failing that, its receipt; those sent to the account only move where the next
// page starts; what cannot be read is said, not guessed.
func TestOtsPageOwn(t *testing.T) {
	newest, h1 := otsTxJSON(t, 6, 2, 12, 1_700_000_120)
	incoming, _ := otsTxJSON(t, 7, 0, 11, 0)
	older, h2 := otsTxJSON(t, 6, 1, 10, 0)
	pending, _ := otsTxJSON(t, 6, 3, 0, 0)
	receipt := func(h common.Hash, ts string) json.RawMessage {
		return json.RawMessage(`{"transactionHash":"` + h.Hex() + `","status":"0x1"` + ts + `}`)
	}
	p := OtsPage{
		Txs:      []json.RawMessage{newest, incoming, older, pending, json.RawMessage(`{"hash":1}`)},
		Receipts: []json.RawMessage{receipt(h1, ""), receipt(h2, `,"timestamp":"0x6553f100"`)},
	}
	own, oldest, notes := p.Own(devchain.DevAddress(6))
	if len(own) != 2 || own[0].Info.Tx.Hash() != h1 || own[1].Info.Tx.Hash() != h2 {
		t.Fatalf("own %+v", own)
	}
	if !own[0].Time.Equal(time.Unix(1_700_000_120, 0)) || !own[1].Time.Equal(time.Unix(0x6553f100, 0)) || own[1].Receipt == nil {
		t.Errorf("times %v %v, receipt %s", own[0].Time, own[1].Time, own[1].Receipt)
	}
	if oldest != 10 {
		t.Errorf("oldest block %d, want 10", oldest)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "without a block") || !strings.Contains(notes[1], "did not decode") {
		t.Errorf("notes %q", notes)
	}
}
