package redact

import (
	"hash/maphash"
	"strings"
	"sync"
)

// SecretPlaceholder replaces a registered secret.
const SecretPlaceholder = "[redacted]"

// window is how much of a secret identifies it: any 12 characters of a registered
// secret in a row are removed (a secret shorter than that, from 8 characters, only
// whole), so a secret shows through neither cut short, nor wrapped over lines as
// base64 prints it (76 characters, then the rest), nor glued to other text. Twelve
// characters of base64 are 72 bits: no text that is not the secret matches them.
const window = 12

var (
	secretMu sync.RWMutex
	// secretWins holds, by window length, the windows of every registered secret:
	// their digests (no copy of the secret itself) and a filter of their rolling
	// hashes that rules out almost every other stretch of text at a few
	// nanoseconds a byte.
	secretWins = map[int]*windows{}
	seed       = maphash.MakeSeed()
)

// windows are the registered windows of one length.
type windows struct {
	n      int
	pow    uint64 // rollBase^(n-1), to roll the first byte out
	digest map[uint64]bool
	filter [1 << 10]uint64 // 65,536 bits, indexed by the top 16 bits of the rolling hash
}

const rollBase = 1099511628211

// roll is the rolling hash of s (len(s) == w.n).
func (w *windows) roll(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*rollBase + uint64(s[i])
	}
	return h
}

func (w *windows) maybe(h uint64) bool { i := h >> 48; return w.filter[i>>6]&(1<<(i&63)) != 0 }

// RegisterSecret registers a secret that is not a private key — a credential the
// deploy command's environment keeps (VAULT_TOKEN, AWS_SECRET_ACCESS_KEY), a key's
// base64 form — so that Keys (and so Text and every Writer) removes it, or any 12
// characters of it in a row, wherever it appears. Values shorter than 8 characters
// are too common to remove from every output and are not registered.
func RegisterSecret(s string) {
	if len(s) < 8 {
		return
	}
	n := min(len(s), window)
	secretMu.Lock()
	defer secretMu.Unlock()
	w := secretWins[n]
	if w == nil {
		w = &windows{n: n, pow: 1, digest: map[uint64]bool{}}
		for i := 1; i < n; i++ {
			w.pow *= rollBase
		}
		secretWins[n] = w
	}
	for i := 0; i+n <= len(s); i++ {
		h := w.roll(s[i : i+n])
		w.filter[(h>>48)>>6] |= 1 << ((h >> 48) & 63)
		w.digest[maphash.String(seed, s[i:i+n])] = true
	}
}

// secretsIn replaces every stretch of s covered by a window of a registered secret.
func secretsIn(s string) string {
	secretMu.RLock()
	defer secretMu.RUnlock()
	if len(secretWins) == 0 {
		return s
	}
	var cover []bool
	for _, w := range secretWins {
		if len(s) < w.n {
			continue
		}
		h := w.roll(s[:w.n])
		for i := 0; ; i++ {
			if w.maybe(h) && w.digest[maphash.String(seed, s[i:i+w.n])] {
				if cover == nil {
					cover = make([]bool, len(s))
				}
				for j := i; j < i+w.n; j++ {
					cover[j] = true
				}
			}
			if i+w.n >= len(s) {
				break
			}
			h = (h-uint64(s[i])*w.pow)*rollBase + uint64(s[i+w.n])
		}
	}
	if cover == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !cover[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		for i < len(s) && cover[i] {
			i++
		}
		b.WriteString(SecretPlaceholder)
	}
	return b.String()
}
