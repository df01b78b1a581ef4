package devchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Fees for the dev chain. anvil's base fee starts at 1 gwei and only falls on an idle
// chain, so a fixed cap well above it always lands.
var (
	devTipCap = big.NewInt(1_000_000_000)
	devFeeCap = big.NewInt(50_000_000_000)
)

// conn sends transactions from dev accounts and waits for them, tracking nonces
// locally so a run of transactions costs no nonce round trips.
type conn struct {
	url     string
	rc      *rpc.Client
	ec      *ethclient.Client
	chainID *big.Int
	nonces  map[common.Address]uint64
}

func dial(ctx context.Context, rpcURL string) (*conn, error) {
	rc, err := rpc.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rpcURL, err)
	}
	ec := ethclient.NewClient(rc)
	id, err := ec.ChainID(ctx)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("read chain id from %s: %w", rpcURL, err)
	}
	return &conn{url: rpcURL, rc: rc, ec: ec, chainID: id, nonces: map[common.Address]uint64{}}, nil
}

func (c *conn) close() { c.rc.Close() }

// call packs method of the named contract's ABI and sends it to `to`.
func (c *conn) call(ctx context.Context, key *ecdsa.PrivateKey, to common.Address, contract, method string, args ...any) (*types.Receipt, error) {
	art, err := LoadArtifact(contract)
	if err != nil {
		return nil, err
	}
	data, err := art.ABI.Pack(method, args...)
	if err != nil {
		return nil, fmt.Errorf("encode %s.%s: %w", contract, method, err)
	}
	r, err := c.send(ctx, key, &to, data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s.%s at %s: %w", contract, method, to.Hex(), err)
	}
	return r, nil
}

// deploy creates the named contract with constructor args and returns its address.
func (c *conn) deploy(ctx context.Context, key *ecdsa.PrivateKey, contract string, args ...any) (common.Address, error) {
	art, err := LoadArtifact(contract)
	if err != nil {
		return common.Address{}, err
	}
	ctor, err := art.ABI.Pack("", args...)
	if err != nil {
		return common.Address{}, fmt.Errorf("encode %s constructor: %w", contract, err)
	}
	data := append(append([]byte{}, art.Bytecode...), ctor...)
	r, err := c.send(ctx, key, nil, data, 0)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy %s: %w", contract, err)
	}
	return r.ContractAddress, nil
}

// send signs and sends one EIP-1559 transaction and waits for its receipt. gas 0 means
// estimate; the estimate also surfaces a revert (with its custom error's name) before
// anything is sent.
func (c *conn) send(ctx context.Context, key *ecdsa.PrivateKey, to *common.Address, data []byte, gas uint64) (*types.Receipt, error) {
	hash, err := c.submit(ctx, key, to, data, gas)
	if err != nil {
		return nil, err
	}
	return c.mined(ctx, hash)
}

// submit signs and sends one EIP-1559 transaction without waiting for it.
func (c *conn) submit(ctx context.Context, key *ecdsa.PrivateKey, to *common.Address, data []byte, gas uint64) (common.Hash, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, ok := c.nonces[from]
	if !ok {
		n, err := c.ec.PendingNonceAt(ctx, from)
		if err != nil {
			return common.Hash{}, fmt.Errorf("read nonce of %s: %w", from.Hex(), err)
		}
		nonce = n
	}
	if gas == 0 {
		est, err := c.ec.EstimateGas(ctx, ethereum.CallMsg{From: from, To: to, Data: data})
		if err != nil {
			return common.Hash{}, fmt.Errorf("estimate gas: %w", describeRevert(err))
		}
		gas = est + est/4
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(c.chainID), &types.DynamicFeeTx{
		ChainID:   c.chainID,
		Nonce:     nonce,
		GasTipCap: devTipCap,
		GasFeeCap: devFeeCap,
		Gas:       gas,
		To:        to,
		Data:      data,
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("sign transaction from %s: %w", from.Hex(), err)
	}
	if err := c.ec.SendTransaction(ctx, tx); err != nil {
		// The node may have seen a transaction we did not count; read the nonce
		// afresh next time.
		delete(c.nonces, from)
		return common.Hash{}, fmt.Errorf("send transaction from %s: %w", from.Hex(), describeRevert(err))
	}
	c.nonces[from] = nonce + 1
	return tx.Hash(), nil
}

// mined waits for the transaction's receipt and fails when it reverted.
func (c *conn) mined(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	r, err := c.wait(ctx, hash)
	if err != nil {
		return nil, err
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("transaction %s reverted in block %d", hash.Hex(), r.BlockNumber)
	}
	return r, nil
}

// wait waits for hash's receipt, and for its block to be the node's latest (or
// older).
func (c *conn) wait(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	for {
		r, err := c.ec.TransactionReceipt(ctx, hash)
		if err == nil {
			// Under load anvil can answer the receipt a moment before its block is
			// the latest one: a read of "latest" right after (a history search
			// from the head, a state read) would not see the transaction yet.
			head, err := c.ec.BlockNumber(ctx)
			if err != nil {
				return nil, fmt.Errorf("the head after %s: %w", hash.Hex(), err)
			}
			if head >= r.BlockNumber.Uint64() {
				return r, nil
			}
		} else if !errors.Is(err, ethereum.NotFound) {
			return nil, fmt.Errorf("receipt of %s: %w", hash.Hex(), err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s to be mined (is anvil mining?): %w", hash.Hex(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitMined waits until the transaction is mined and its block is the node's latest
// (or older), and returns its receipt: after it, what reads "latest" sees the
// transaction.
func WaitMined(ctx context.Context, rpcURL string, hash common.Hash) (*types.Receipt, error) {
	c, err := dial(ctx, rpcURL)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.wait(ctx, hash)
}

// Transact sends a call to method of the test double `contract` (a Contract* name) at
// `to` from key's account and waits for a successful receipt. For test set-up such as
// pausing the escrow or registering another robot, not for code under test.
func Transact(ctx context.Context, rpcURL string, key *ecdsa.PrivateKey, to common.Address, contract, method string, args ...any) (*types.Receipt, error) {
	c, err := dial(ctx, rpcURL)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.call(ctx, key, to, contract, method, args...)
}

// ErrorName returns the custom error of the test doubles whose selector starts revert
// data, or "" when the data matches none.
func ErrorName(revertData []byte) string {
	if len(revertData) < 4 {
		return ""
	}
	for _, name := range []string{ContractEscrow, ContractPausableEscrow, ContractIdentity, ContractToken} {
		art, err := LoadArtifact(name)
		if err != nil {
			continue
		}
		for _, e := range art.ABI.Errors {
			if string(e.ID[:4]) == string(revertData[:4]) {
				return e.Name
			}
		}
	}
	return ""
}

// describeRevert names the custom error in a node's revert, which otherwise reads as
// an opaque "execution reverted" plus hex.
func describeRevert(err error) error {
	var de rpc.DataError
	if !errors.As(err, &de) {
		return err
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return err
	}
	data, decErr := hexutil.Decode(s)
	if decErr != nil {
		return err
	}
	if name := ErrorName(data); name != "" {
		return fmt.Errorf("%w (custom error %s())", err, name)
	}
	return fmt.Errorf("%w (revert data %s)", err, hexutil.Encode(data))
}

// RawTx is a transaction SendRawTx signs as given: no estimate (a call that reverts
// is mined and fails), and any nonce (a future one leaves a nonce gap).
type RawTx struct {
	To    common.Address
	Value *big.Int
	Data  []byte
	// Gas is the gas limit (21000 when 0).
	Gas uint64
	// Nonce pins the nonce; nil takes the pending nonce.
	Nonce *uint64
	// FeeCap and TipCap default to the dev chain's 50 and 1 gwei.
	FeeCap, TipCap *big.Int
}

// SendRawTx signs t with key and sends it without waiting for a receipt: for tests
// that need a failed, pending, underpriced or queued transaction of an account.
func SendRawTx(ctx context.Context, rpcURL string, key *ecdsa.PrivateKey, t RawTx) (common.Hash, error) {
	c, err := dial(ctx, rpcURL)
	if err != nil {
		return common.Hash{}, err
	}
	defer c.close()
	from := crypto.PubkeyToAddress(key.PublicKey)
	var nonce uint64
	if t.Nonce != nil {
		nonce = *t.Nonce
	} else if nonce, err = c.ec.PendingNonceAt(ctx, from); err != nil {
		return common.Hash{}, fmt.Errorf("read nonce of %s: %w", from.Hex(), err)
	}
	gas, fee, tip := t.Gas, t.FeeCap, t.TipCap
	if gas == 0 {
		gas = 21000
	}
	if fee == nil {
		fee = devFeeCap
	}
	if tip == nil {
		tip = devTipCap
	}
	to := t.To
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(c.chainID), &types.DynamicFeeTx{
		ChainID: c.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: fee, Gas: gas, To: &to, Value: t.Value, Data: t.Data,
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("sign transaction from %s: %w", from.Hex(), err)
	}
	if err := c.ec.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("send transaction from %s: %w", from.Hex(), describeRevert(err))
	}
	return tx.Hash(), nil
}
