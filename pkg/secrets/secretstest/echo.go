package secretstest

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Echo is how a misbehaving store (or a proxy in front of one) sends a request
// back in its error answer: see EchoForms.
type Echo func(body []byte) string

// eachKey returns s with every 0x and 64 hex digits replaced by f of them.
func eachKey(s string, f func(k string) string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
			j += 2
		}
		n := 0
		for j+n < len(s) && n < 64 && isHex(s[j+n]) {
			n++
		}
		if n == 64 && (j+n == len(s) || !isHex(s[j+n])) {
			b.WriteString(f(s[i : j+n]))
			i = j + n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// EchoForms are the ways an echo can carry the key being written, each a form no
// scrubber that looks for the key's hex finds: the body as it came, base64 or hex of
// it, the key split in two, cut 4 digits short, in upper case, without its 0x.
var EchoForms = map[string]Echo{
	"verbatim": func(b []byte) string { return string(b) },
	"base64":   func(b []byte) string { return base64.StdEncoding.EncodeToString(b) },
	"hex":      func(b []byte) string { return hex.EncodeToString(b) },
	"split": func(b []byte) string {
		return eachKey(string(b), func(k string) string { return k[:len(k)/2] + " " + k[len(k)/2:] })
	},
	"truncated": func(b []byte) string {
		return eachKey(string(b), func(k string) string { return k[:len(k)-4] })
	},
	"upper": func(b []byte) string { return strings.ToUpper(string(b)) },
	"no-0x": func(b []byte) string {
		return eachKey(string(b), func(k string) string { return strings.TrimPrefix(strings.TrimPrefix(k, "0x"), "0X") })
	},
}
