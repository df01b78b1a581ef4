package secrets

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// PrivateKey is a secp256k1 private key that cannot be printed: every fmt verb,
// String, GoString, slog and JSON/text marshalling show at most its address. The
// key sits behind a pointer to an unexported struct so that even a struct holding
// a PrivateKey in an unexported field prints only a pointer value. The zero
// PrivateKey holds no key.
type PrivateKey struct {
	h *heldKey
}

type heldKey struct {
	k    *ecdsa.PrivateKey
	addr common.Address
}

// ErrKeyNotPrintable is returned by MarshalJSON and MarshalText: a key must never
// be serialised by accident; stores write it through their own encoders.
var ErrKeyNotPrintable = errors.New("secrets: a private key cannot be marshalled")

// Generate returns a new key drawn from crypto/rand.
func Generate() (PrivateKey, error) {
	k, err := ecdsa.GenerateKey(crypto.S256(), rand.Reader)
	if err != nil {
		return PrivateKey{}, errs.Failedf("generate a secp256k1 key").Wrap(err)
	}
	return FromECDSA(k)
}

// FromECDSA wraps an existing key, for callers that already hold one (tests
// seeding a store with a known development key, for instance).
func FromECDSA(k *ecdsa.PrivateKey) (PrivateKey, error) {
	if k == nil {
		return PrivateKey{}, errs.Usagef("no private key given")
	}
	// A secp256k1 scalar is reachable only as D: ecdsa.PrivateKey.Bytes supports
	// the NIST curves alone, and go-ethereum's own encoders read D too.
	//lint:ignore SA1019 see above; D is read, never written.
	d := k.D
	if d == nil {
		return PrivateKey{}, errs.Usagef("no private key given")
	}
	if k.Curve != crypto.S256() {
		return PrivateKey{}, errs.Usagef("private key is not on the secp256k1 curve")
	}
	if d.Sign() <= 0 || d.Cmp(crypto.S256().Params().N) >= 0 {
		return PrivateKey{}, errs.Usagef("private key is outside the secp256k1 range (zero or not below the curve order)")
	}
	// Every key the process holds passes here: registering it is what keeps it out
	// of every output, whatever path its hex might take (an error echoing a request
	// body, say).
	b := crypto.FromECDSA(k)
	redact.RegisterKey(b)
	clear(b)
	return PrivateKey{h: &heldKey{k: k, addr: crypto.PubkeyToAddress(k.PublicKey)}}, nil
}

// IsZero reports whether p holds no key.
func (p PrivateKey) IsZero() bool { return p.h == nil }

// Address is the Ethereum address of the key (the zero address for the zero
// PrivateKey).
func (p PrivateKey) Address() common.Address {
	if p.h == nil {
		return common.Address{}
	}
	return p.h.addr
}

// Equal reports whether p and q hold the same key.
func (p PrivateKey) Equal(q PrivateKey) bool {
	if p.h == nil || q.h == nil {
		return p.h == q.h
	}
	return subtle.ConstantTimeCompare(crypto.FromECDSA(p.h.k), crypto.FromECDSA(q.h.k)) == 1
}

// ECDSA returns the key itself. It exists for pkg/signer, the one package that
// signs; anything else that calls it is a review finding.
func (p PrivateKey) ECDSA() *ecdsa.PrivateKey {
	if p.h == nil {
		return nil
	}
	return p.h.k
}

// String shows only the address.
func (p PrivateKey) String() string {
	if p.h == nil {
		return "[no key]"
	}
	return "[redacted key for " + p.h.addr.Hex() + "]"
}

// GoString is the %#v form; it shows only the address.
func (p PrivateKey) GoString() string { return "secrets.PrivateKey" + p.String() }

// Format makes every verb (%v %+v %#v %s %q %x %d …) print the redacted form.
func (p PrivateKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(p.GoString()))
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// LogValue keeps the key out of structured logs.
func (p PrivateKey) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON always fails.
func (p PrivateKey) MarshalJSON() ([]byte, error) { return nil, ErrKeyNotPrintable }

// MarshalText always fails.
func (p PrivateKey) MarshalText() ([]byte, error) { return nil, ErrKeyNotPrintable }

// hexEncode is how stores write a key: 0x plus 64 lowercase hex digits, the form
// `cast wallet new` prints and the relayer's RELAYER_PRIVATE_KEY accepts.
func (p PrivateKey) hexEncode() string {
	b := crypto.FromECDSA(p.h.k)
	defer clear(b)
	return "0x" + hex.EncodeToString(b)
}

var curveOrder = new(big.Int).Set(crypto.S256().Params().N)

// parseHexKey turns a stored value into a key. where names the value for errors
// (a reference, with a field or a version when there is one); the value itself
// never appears in an error, not even in part.
func parseHexKey(where, value string) (PrivateKey, error) {
	s := strings.TrimSpace(value)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	const expected = "expected 32 bytes of hex (64 hex digits, with or without 0x)"
	if s == "" {
		return PrivateKey{}, errs.Usagef("the value of %s is empty; %s", where, expected)
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return PrivateKey{}, errs.Usagef("the value of %s is not hex; %s", where, expected)
		}
	}
	if len(s) != 64 {
		return PrivateKey{}, errs.Usagef("the value of %s has %d hex digits; %s", where, len(s), expected)
	}
	b := make([]byte, 32)
	defer clear(b)
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		return PrivateKey{}, errs.Usagef("the value of %s is not hex; %s", where, expected)
	}
	d := new(big.Int).SetBytes(b)
	if d.Sign() == 0 {
		return PrivateKey{}, errs.Usagef("the value of %s is zero, which is not a valid private key; %s", where, expected)
	}
	if d.Cmp(curveOrder) >= 0 {
		return PrivateKey{}, errs.Usagef("the value of %s is not below the secp256k1 curve order, so it is not a valid private key", where)
	}
	k, err := crypto.ToECDSA(b)
	if err != nil {
		// Unreachable after the checks above; go-ethereum's text never holds the key.
		return PrivateKey{}, errs.Usagef("the value of %s is not a valid secp256k1 private key", where)
	}
	return FromECDSA(k)
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
