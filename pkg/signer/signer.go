// Package signer turns a signer reference into something that signs
// transactions and EIP-712 digests, without ever exposing the key: callers get
// an address and signatures, nothing else.
package signer

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// Signer signs with one key. It prints as its address only.
type Signer struct {
	key secrets.PrivateKey
}

// Open reads the current key behind ref (see package secrets for the forms).
func Open(ctx context.Context, ref string, opts secrets.Options) (*Signer, error) {
	k, err := secrets.ReadKey(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	return New(k)
}

// New wraps a key already read from a store.
func New(key secrets.PrivateKey) (*Signer, error) {
	if key.IsZero() {
		return nil, errs.Usagef("signer: no key given")
	}
	return &Signer{key: key}, nil
}

// Address is the address that signs.
func (s *Signer) Address() common.Address { return s.key.Address() }

// String shows only the address.
func (s *Signer) String() string { return "signer " + s.key.Address().Hex() }

// Format makes every fmt verb print String, so the key cannot leak through %#v.
func (s *Signer) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// SignTx signs tx for chainID with the latest signer go-ethereum knows for it
// (EIP-155, EIP-2930, EIP-1559, EIP-4844 and EIP-7702 transaction types).
func (s *Signer) SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	if chainID == nil || chainID.Sign() <= 0 {
		return nil, errs.Usagef("sign transaction: chain id %v is not a positive number", chainID)
	}
	// A legacy transaction has no chain id field (it is derived from v), so only
	// typed transactions can disagree with chainID.
	if tx.Type() != types.LegacyTxType && tx.ChainId().Sign() != 0 && tx.ChainId().Cmp(chainID) != 0 {
		return nil, errs.Usagef("sign transaction: it is for chain %s, not chain %s", tx.ChainId(), chainID)
	}
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(chainID), s.key.ECDSA())
	if err != nil {
		return nil, errs.Failedf("sign transaction from %s", s.Address().Hex()).Wrap(err)
	}
	return signed, nil
}

// SignHash signs a 32-byte digest (an EIP-712 digest, for instance) and returns
// the 65-byte signature r ‖ s ‖ v with v = 27 or 28, the form Solidity's ecrecover
// and OpenZeppelin's ECDSA.recover take.
func (s *Signer) SignHash(digest [32]byte) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], s.key.ECDSA())
	if err != nil {
		return nil, errs.Failedf("sign digest with %s", s.Address().Hex()).Wrap(err)
	}
	sig[64] += 27
	return sig, nil
}

// SignTypedData hashes EIP-712 typed data and signs the digest (v = 27 or 28).
func (s *Signer) SignTypedData(td apitypes.TypedData) ([]byte, error) {
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return nil, errs.Usagef("EIP-712 typed data for %s cannot be hashed: %v", td.PrimaryType, err)
	}
	return s.SignHash([32]byte(digest))
}

// TransactOpts returns options for go-ethereum's contract bindings that sign
// with this key for chainID.
func (s *Signer) TransactOpts(ctx context.Context, chainID *big.Int) (*bind.TransactOpts, error) {
	if chainID == nil || chainID.Sign() <= 0 {
		return nil, errs.Usagef("transact options: chain id %v is not a positive number", chainID)
	}
	from := s.Address()
	return &bind.TransactOpts{
		From:    from,
		Context: ctx,
		Signer: func(addr common.Address, tx *types.Transaction) (*types.Transaction, error) {
			if addr != from {
				return nil, errs.Failedf("signer for %s cannot sign for %s", from.Hex(), addr.Hex())
			}
			return s.SignTx(tx, chainID)
		},
	}, nil
}

// RecoverHash returns the address that produced sig (65 bytes, v = 27/28 or
// 0/1) over digest: the check a contract's ecrecover makes.
func RecoverHash(digest [32]byte, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, errs.Usagef("signature is %d bytes; expected 65 (r ‖ s ‖ v)", len(sig))
	}
	c := make([]byte, 65)
	copy(c, sig)
	if c[64] >= 27 {
		c[64] -= 27
	}
	pub, err := crypto.SigToPub(digest[:], c)
	if err != nil {
		return common.Address{}, errs.Usagef("signature does not recover to a public key").Wrap(err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}
