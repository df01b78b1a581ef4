package chain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// OtsPage is ots_searchTransactionsBefore's answer: the transactions touching an
// address, newest first, and their receipts as the node wrote them.
type OtsPage struct {
	Txs       []json.RawMessage `json:"txs"`
	Receipts  []json.RawMessage `json:"receipts"`
	FirstPage bool              `json:"firstPage"`
	LastPage  bool              `json:"lastPage"`
}

// OtsTx is one of a page's transactions sent by the account searched.
type OtsTx struct {
	Info *TxInfo
	// Time is its block's time where the page gives it (the transaction's
	// blockTimestamp, else the receipt's timestamp), in UTC; zero otherwise.
	Time time.Time
	// Receipt is the page's receipt of it, nil when the page has none.
	Receipt json.RawMessage
}

// Own decodes the page's transactions sent by from, newest first (the page also
// lists those sent to it). oldest is the lowest block among all the page's
// transactions, where the next page starts. A transaction that does not decode or
// has no block is left out with a note.
func (p OtsPage) Own(from common.Address) (own []OtsTx, oldest uint64, notes []string) {
	type receipt struct {
		TxHash    common.Hash     `json:"transactionHash"`
		Timestamp *hexutil.Uint64 `json:"timestamp"`
		raw       json.RawMessage
	}
	receipts := make(map[common.Hash]receipt, len(p.Receipts))
	for _, raw := range p.Receipts {
		r := receipt{raw: raw}
		if json.Unmarshal(raw, &r) == nil {
			receipts[r.TxHash] = r
		}
	}
	for _, raw := range p.Txs {
		info, err := decodeTxInfo(raw)
		if err != nil {
			notes = append(notes, fmt.Sprintf("an Otterscan transaction did not decode: %v", err))
			continue
		}
		if info.BlockNumber == nil {
			notes = append(notes, "the Otterscan page listed "+info.Tx.Hash().Hex()+" without a block")
			continue
		}
		if n := info.BlockNumber.Uint64(); oldest == 0 || n < oldest {
			oldest = n
		}
		if info.From != from {
			continue
		}
		r := receipts[info.Tx.Hash()]
		o := OtsTx{Info: info, Receipt: r.raw}
		var meta struct {
			BlockTimestamp *hexutil.Uint64 `json:"blockTimestamp"`
		}
		if json.Unmarshal(raw, &meta) == nil && meta.BlockTimestamp != nil {
			o.Time = time.Unix(int64(*meta.BlockTimestamp), 0).UTC()
		} else if r.Timestamp != nil {
			o.Time = time.Unix(int64(*r.Timestamp), 0).UTC()
		}
		own = append(own, o)
	}
	return own, oldest, notes
}
