package redact

import (
	"strconv"
	"strings"
)

// Quote is how a message repeats a value the user typed — a flag, an argument, an
// environment variable, a config value, an unknown command or flag: quoted as %q
// quotes (control characters escaped), with what must never be repeated hidden by
// its shape (see Mask). A value the user typed where a key does not belong is as
// likely to be a key as anything else, so no message shows it whole.
func Quote(s string) string { return strconv.Quote(Mask(s)) }

// QuoteHash is Quote for a field that holds a hash (a transaction hash, a
// completion hash, a signature): its hex is shown, URL credentials are still hidden.
func QuoteHash(s string) string { return strconv.Quote(maskURLs(s, true)) }

// Mask hides, in a value the user typed, what a message must not repeat: every run
// of 64 or more hex digits (with its 0x; the length of a private key, alone or
// inside a longer value) becomes "(64 hex digits, not shown)", and anything shaped
// like a URL loses its user info, path and query even when it does not parse
// (ftp://user:pass@host/KEY, user:pass@host/KEY, mainnet.example.io/v2/KEY).
func Mask(s string) string { return maskHex(maskURLs(s, true)) }

// MaskText is Mask for running text that quotes what the user typed, a message
// written by a library (cobra's `unknown command "…" for "…"`, a parser's error):
// every double-quoted string in it is masked as one value (Mask), the rest as text
// (URLs end at white space).
func MaskText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		q, err := strconv.QuotedPrefix(s[i:])
		if err != nil {
			break
		}
		v, _ := strconv.Unquote(q)
		b.WriteString(maskHex(maskURLs(s[:i], false)))
		b.WriteString(Quote(v))
		s = s[i+len(q):]
	}
	b.WriteString(maskHex(maskURLs(s, false)))
	return b.String()
}

// MaskHex is Mask without the URL rule: for a value shown because the operator
// asked to see it in full (config view --reveal), which still never shows a key.
func MaskHex(s string) string { return maskHex(s) }

// maskHex replaces every run of 64 or more hex digits, and a 0x just before it.
func maskHex(s string) string {
	var b strings.Builder
	last := 0
	eachHexRun(s, func(i, j int) {
		start := i
		if i >= 2 && s[i-2] == '0' && (s[i-1] == 'x' || s[i-1] == 'X') {
			start = i - 2
		}
		b.WriteString(s[last:start])
		b.WriteString("(" + strconv.Itoa(j-i) + " hex digits, not shown)")
		last = j
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
