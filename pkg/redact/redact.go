// Package redact keeps secrets out of everything vrwxctl writes. Every private key
// the process loads or generates is registered here (pkg/secrets does it where a key
// is made), and every output path — stdout and stderr (through a Writer), JSON
// errors, the audit log — passes its text through Text. A registered key is replaced
// wherever it appears, as hex with or without 0x, in any case; URLs lose their user
// info, path and query, where providers put credentials. The registry holds only
// SHA-256 digests of keys, so it adds no copy of key material to the process.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"github.com/vrwx/vrwxctl/pkg/lazy"
)

// Placeholder replaces a registered key.
const Placeholder = "[redacted key]"

var (
	mu   sync.RWMutex
	keys = map[[32]byte]bool{}
)

// RegisterKey registers a private key's 32 bytes: from now on Text replaces its hex
// form wherever it appears. The caller keeps (and clears) its own bytes.
func RegisterKey(b []byte) {
	if len(b) != 32 {
		return
	}
	d := sha256.Sum256(b)
	mu.Lock()
	keys[d] = true
	mu.Unlock()
}

// RegisterKeyLike registers every run of exactly 64 hex digits in s (see
// ContainsKeyLike) and reports whether there was one. A value refused because it
// looks like a key is registered first, so it is scrubbed wherever else it might be
// echoed.
func RegisterKeyLike(s string) bool {
	found := false
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isHex(s[i]) {
			run++
			continue
		}
		if run == 64 {
			b, err := hex.DecodeString(s[i-64 : i])
			if err == nil {
				RegisterKey(b)
				clear(b)
				found = true
			}
		}
		run = 0
	}
	return found
}

func registered() bool {
	mu.RLock()
	defer mu.RUnlock()
	return len(keys) > 0
}

var keyLike = &lazy.Regexp{Expr: `^(?:0[xX])?[0-9a-fA-F]{64}$`}

// LooksLikeKey reports whether s (surrounding white space aside) is 64 hex digits,
// with or without 0x: the shape of a raw private key. Values that expect an address,
// a URL, a number or a reference refuse it without echoing it.
func LooksLikeKey(s string) bool { return keyLike.MatchString(strings.TrimSpace(s)) }

// ContainsKeyLike reports whether s holds a run of exactly 64 hex digits (bounded by
// non-hex characters, an optional 0x before it): a key pasted into a path, a URL or
// a reference.
func ContainsKeyLike(s string) bool { return keyRun.MatchString(s) }

var keyRun = &lazy.Regexp{Expr: `(?:^|[^0-9a-fA-F])[0-9a-fA-F]{64}(?:$|[^0-9a-fA-F])`}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Keys replaces every registered key in s.
func Keys(s string) string {
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

// urlRE finds http(s) and ws(s) URLs in text. A URL ends at white space, a quote,
// an angle bracket, a backtick or a backslash (JSON's escaped quote).
var urlRE = &lazy.Regexp{Expr: "(?i)\\b(?:https?|wss?)://[^\\s\"'<>`\\\\]+"}

// URLs redacts every http(s)/ws(s) URL in s (see URL).
func URLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlRE.ReplaceAllStringFunc(s, func(m string) string {
		// Punctuation after a URL belongs to the sentence, not to the URL.
		end := len(m)
		for end > 0 && strings.IndexByte(".,;:)]}", m[end-1]) >= 0 {
			end--
		}
		return URL(m[:end]) + m[end:]
	})
}

// Text is what every output path applies: registered keys and URL credentials
// removed.
func Text(s string) string { return URLs(Keys(s)) }

// URL hides what providers put credentials in: user info becomes ***@, and a path
// or query becomes /***. A path is kept only when it is one short lower-case word
// (/rpc, /metrics, /health), which no provider uses as a key.
func URL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	host, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = "***@" + host[at+1:]
	}
	switch {
	case path == "" || path == "/":
		return scheme + "://" + host
	case plainPath(path):
		return scheme + "://" + host + path
	}
	return scheme + "://" + host + "/***"
}

func plainPath(p string) bool {
	if p[0] != '/' {
		return false
	}
	w := p[1:]
	if w == "***" { // already redacted
		return true
	}
	if w == "" || len(w) > 12 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

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
