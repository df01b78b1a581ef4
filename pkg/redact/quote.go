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
// written by a library (cobra's "unknown flag: --…", pflag's "invalid argument …"):
// URLs end at white space.
func MaskText(s string) string { return maskHex(maskURLs(s, false)) }

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
