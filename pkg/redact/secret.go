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
	// secretWins holds, by window length, the digests of every window of every
	// registered secret: no copy of the secret itself.
	secretWins = map[int]map[uint64]bool{}
	seed       = maphash.MakeSeed()
)

// RegisterSecret registers a secret that is not a private key — a credential the
// deploy command's environment keeps (VAULT_TOKEN, AWS_SECRET_ACCESS_KEY), a key's
// base64 form — so that Keys (and so Text and every Writer) removes it, or any 12
// characters of it in a row, wherever it appears. Values shorter than 8 characters
// are too common to remove from every output and are not registered.
func RegisterSecret(s string) {
	if len(s) < 8 {
		return
	}
	w := min(len(s), window)
	secretMu.Lock()
	defer secretMu.Unlock()
	set := secretWins[w]
	if set == nil {
		set = map[uint64]bool{}
		secretWins[w] = set
	}
	for i := 0; i+w <= len(s); i++ {
		set[maphash.String(seed, s[i:i+w])] = true
	}
}

// secretsIn replaces every stretch of s covered by a window of a registered secret.
func secretsIn(s string) string {
	secretMu.RLock()
	defer secretMu.RUnlock()
	if len(secretWins) == 0 {
		return s
	}
	var spans [][2]int
	for w, set := range secretWins {
		for i := 0; i+w <= len(s); i++ {
			if set[maphash.String(seed, s[i:i+w])] {
				spans = append(spans, [2]int{i, i + w})
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	cover := make([]bool, len(s))
	for _, sp := range spans {
		for i := sp[0]; i < sp[1]; i++ {
			cover[i] = true
		}
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
