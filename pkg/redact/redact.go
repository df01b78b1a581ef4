// Package redact keeps secrets out of everything vrwxctl writes. It works in two
// ways, and every output path uses both:
//
//   - By registration. Every private key the process loads or generates is
//     registered (pkg/secrets does it where a key is made), and so is every run of
//     64 hex digits the user typed (arguments, environment, config file; see
//     RegisterInput) and every credential the deploy command's environment keeps
//     (RegisterSecret). Keys replaces them wherever they appear: a key as hex with or
//     without 0x, in any case, reversed, or as base64. The registry holds only
//     digests, so it adds no copy of key material to the process.
//   - By shape. URLs lose their user info, path and query, where providers put
//     credentials, whether or not they parse (URLs), and every message that repeats
//     a value the user typed quotes it through Quote, which also hides any run of
//     64 or more hex digits.
//
// stdout and stderr pass through a Writer, JSON errors and the audit log through
// Text.
package redact

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
)

// Placeholder replaces a registered key.
const Placeholder = "[redacted key]"

var (
	mu   sync.RWMutex
	keys = map[[32]byte]bool{}
)

// RegisterKey registers a private key's 32 bytes: from now on Text replaces its hex
// form wherever it appears, and the forms a careless script might print it in — the
// hex reversed, the bytes reversed, base64 of the bytes or of the hex. The caller
// keeps (and clears) its own bytes.
func RegisterKey(b []byte) {
	if len(b) != 32 {
		return
	}
	var rev [32]byte
	for i := range b {
		rev[31-i] = b[i]
	}
	h := []byte(hex.EncodeToString(b))
	slices.Reverse(h)
	var revHex [32]byte
	_, _ = hex.Decode(revHex[:], h)
	digests := [][32]byte{sha256.Sum256(b), sha256.Sum256(rev[:]), sha256.Sum256(revHex[:])}
	clear(rev[:])
	clear(revHex[:])
	slices.Reverse(h)
	// base64 of the bytes (any alphabet, padded or not: the unpadded form is a prefix),
	// and of the hex text with and without 0x (`base64 keyfile`).
	forms := []string{
		base64.RawStdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		base64.StdEncoding.EncodeToString(h),
		base64.StdEncoding.EncodeToString(append([]byte("0x"), h...)),
	}
	clear(h)
	mu.Lock()
	for _, d := range digests {
		keys[d] = true
	}
	mu.Unlock()
	for _, f := range forms {
		RegisterSecret(f)
	}
}

// RegisterKeyLike registers every run of exactly 64 hex digits in s (see
// ContainsKeyLike) and reports whether there was one. A value refused because it
// looks like a key is registered first, so it is scrubbed wherever else it might be
// echoed.
func RegisterKeyLike(s string) bool {
	found := false
	eachHexRun(s, func(i, j int) {
		if j-i == 64 {
			registerHex(s[i:j])
			found = true
		}
	})
	return found
}

// RegisterInput registers every 64-digit window of every run of 64 or more hex
// digits in s, a value the user typed or configured (an argument, a flag, an
// environment variable, a config file value). Whatever message or output later
// repeats it, in part of a longer value or whole, shows it redacted: this is the
// last line of defence behind Quote. A field that holds a hash (a transaction hash
// argument) is not passed here.
func RegisterInput(s string) {
	eachHexRun(s, func(i, j int) {
		for k := i; k+64 <= j; k++ {
			registerHex(s[k : k+64])
		}
	})
}

func registerHex(h string) {
	b, err := hex.DecodeString(h)
	if err == nil {
		RegisterKey(b)
		clear(b)
	}
}

// eachHexRun calls fn with the bounds of every maximal run of hex digits in s that
// is at least 64 long.
func eachHexRun(s string, fn func(i, j int)) {
	for i := 0; i < len(s); {
		if !isHex(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j-i >= 64 {
			fn(i, j)
		}
		i = j
	}
}

func registered() bool {
	mu.RLock()
	defer mu.RUnlock()
	return len(keys) > 0
}

// LooksLikeKey reports whether s (surrounding white space aside) is 64 hex digits,
// with or without 0x: the shape of a raw private key. Values that expect an address,
// a URL, a number or a reference refuse it without echoing it.
func LooksLikeKey(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// HasHexRun reports whether s holds a run of 64 or more hex digits: a key, alone or
// inside a longer value.
func HasHexRun(s string) bool {
	found := false
	eachHexRun(s, func(i, j int) { found = true })
	return found
}

// ContainsKeyLike reports whether s holds a run of exactly 64 hex digits (bounded by
// non-hex characters, an optional 0x before it): a key pasted into a path, a URL or
// a reference.
func ContainsKeyLike(s string) bool {
	found := false
	eachHexRun(s, func(i, j int) { found = found || j-i == 64 })
	return found
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Keys replaces every registered key and secret in s.
func Keys(s string) string { return secretsIn(keysIn(s)) }

func keysIn(s string) string {
	if !registered() {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is in b
	for i := 0; i < len(s); {
		if !isHex(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		// A key may sit anywhere inside a longer run (hex glued to hex).
		for k := i; k+64 <= j; {
			if !isKey(s[k : k+64]) {
				k++
				continue
			}
			start := k
			if k == i && k >= 2 && (s[k-2:k] == "0x" || s[k-2:k] == "0X") {
				start = k - 2
			}
			b.WriteString(s[last:start])
			b.WriteString(Placeholder)
			last = k + 64
			k += 64
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isKey(h string) bool {
	var raw [32]byte
	if _, err := hex.Decode(raw[:], []byte(h)); err != nil {
		return false
	}
	d := sha256.Sum256(raw[:])
	clear(raw[:])
	mu.RLock()
	defer mu.RUnlock()
	return keys[d]
}

// Text is what every output path applies: registered keys and secrets, and URL
// credentials, removed.
func Text(s string) string { return URLs(Keys(s)) }

// Error returns err with its text passed through Text; errors.Is and errors.As still
// see err. nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var r *redacted
	if errors.As(err, &r) && r == err {
		return err
	}
	return &redacted{err: err}
}

type redacted struct{ err error }

func (r *redacted) Error() string { return Text(r.err.Error()) }
func (r *redacted) Unwrap() error { return r.err }
