package redact

import "strings"

// referenceSchemes name things, not network endpoints: signer references and
// backup locations. Their paths and queries are what an operator must see (which
// key file, which secret, which bucket), and never credentials; only user info, if
// any, is hidden.
var referenceSchemes = map[string]bool{"file": true, "keystore": true, "env": true, "aws-sm": true, "vault": true, "s3": true}

// URL hides what providers put credentials in: user info becomes ***@, and a path
// or query becomes /***. A path is kept only when it is one short lower-case word
// (/rpc, /metrics, /health), which no provider uses as a key. It works on the text,
// not on a parsed URL, so a URL that does not parse (a space in the host, a port out
// of range, an unknown scheme) loses the same parts. A reference (file://,
// keystore://, env://, aws-sm://, vault://, s3://) keeps its path and query.
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
	case referenceSchemes[strings.ToLower(scheme)]:
		return scheme + "://" + host + path
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

// endsToken reports whether c ends a URL in running text: white space, a quote, an
// angle bracket, a backtick or a backslash (JSON's escaped quote).
func endsToken(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '<', '>', '`', '\\':
		return true
	}
	return false
}

// endsAtStyle reports whether s[i:] starts with colour sequences (ESC [ params m,
// which vrwxctl's styles wrap text in) followed by the end of s or by what ends a
// token: the reset after a styled URL ends the URL, instead of being taken for the
// end of its path (masked, and the colour left on).
func endsAtStyle(s string, i int) bool {
	n := 0
	for {
		l := styleLen(s[i+n:])
		if l == 0 {
			break
		}
		n += l
	}
	return n > 0 && (i+n == len(s) || endsToken(s[i+n]))
}

// afterStyles is the index just after the last colour sequence in s, 0 when s holds
// none.
func afterStyles(s string) int {
	after := 0
	for i := strings.IndexByte(s, 0x1b); i >= 0 && i < len(s); {
		if l := styleLen(s[i:]); l > 0 {
			after = i + l
			i += l
			continue
		}
		j := strings.IndexByte(s[i+1:], 0x1b)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return after
}

// styleLen is the length of the colour sequence (ESC [ digits and ; m) s starts
// with, 0 when it starts with none.
func styleLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1
		case c >= '0' && c <= '9' || c == ';':
		default:
			return 0
		}
	}
	return 0
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// URLs redacts every URL in running text s, of any scheme (see URL), and every
// user:password@host written without one.
func URLs(s string) string { return maskURLs(s, false) }

// maskURLs is URLs; with whole, s is one value rather than running text: a URL in it
// runs to the end of the value (a space in its host does not end it), and a value
// that is a host followed by a path (mainnet.example.io/v2/KEY) loses the path.
func maskURLs(s string, whole bool) string {
	if !strings.Contains(s, "://") && !strings.Contains(s, "@") && !whole {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ':' && strings.HasPrefix(s[i:], "://"):
			start := i
			for start > last && isSchemeChar(s[start-1]) {
				start--
			}
			for start < i && !isLetter(s[start]) {
				start++
			}
			if start == i {
				continue
			}
			end := len(s)
			if !whole {
				end = i + 3
				for end < len(s) && !endsToken(s[end]) && !endsAtStyle(s, end) {
					end++
				}
				// Punctuation after a URL belongs to the sentence, not to the URL.
				for end > i+3 && strings.IndexByte(".,;:)]}", s[end-1]) >= 0 {
					end--
				}
			}
			b.WriteString(s[last:start])
			b.WriteString(URL(s[start:end]))
			last, i = end, end-1
		case s[i] == '@':
			// user:password@host with no scheme, alone or at the end of a path (a
			// relative path someone typed a URL into).
			start := i
			for start > last && !endsToken(s[start-1]) && s[start-1] != '/' && s[start-1] != '(' && s[start-1] != '[' && s[start-1] != '=' && s[start-1] != ',' {
				start--
			}
			if k := last + afterStyles(s[last:i]); k > start {
				start = k // a colour before the text is not part of it
			}
			if start == i || !strings.Contains(s[start:i], ":") {
				continue
			}
			end := i + 1
			for end < len(s) && (whole || !endsToken(s[end]) && !endsAtStyle(s, end)) {
				end++
			}
			host := s[i+1 : end]
			if j := strings.IndexAny(host, "/?#"); j >= 0 {
				host = host[:j] + "/***"
			}
			b.WriteString(s[last:start])
			b.WriteString("***@" + host)
			last, i = end, end-1
		}
	}
	if last == 0 {
		if whole {
			return hostPath(s)
		}
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hostPath hides the path and query of a value that is a host name or address
// followed by a path, a URL without its scheme: mainnet.example.io/v2/KEY.
func hostPath(s string) string {
	i := strings.IndexAny(s, "/?#")
	if i <= 0 || i == len(s)-1 || strings.ContainsAny(s, " \t\n") || !isHost(s[:i]) {
		return s
	}
	return s[:i] + "/***"
}

// isHost reports whether h is a host name with a top-level domain, localhost, or an
// IPv4 address, with an optional port.
func isHost(h string) bool {
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		for _, c := range []byte(h[j+1:]) {
			if c < '0' || c > '9' {
				return false
			}
		}
		h = h[:j]
	}
	if h == "localhost" {
		return true
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for _, c := range []byte(l) {
			if !isLetter(c) && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	allDigits, allLetters := true, len(tld) >= 2
	for _, c := range []byte(tld) {
		allDigits = allDigits && '0' <= c && c <= '9'
		allLetters = allLetters && isLetter(c)
	}
	return allLetters || allDigits && len(labels) == 4
}
