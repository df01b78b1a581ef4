package secrets

import (
	"errors"
	"strconv"
	"strings"
)

// What a store's error says about its answer. A store's answer is never repeated:
// AWS's and Vault's own messages carry no secret values, but a proxy or a
// look-alike service in between may echo the request — the key being written —
// whole, encoded, split or cut short, and no scrubber recognises every form. So an
// error names the HTTP status and the service's error code (AWS's __type), and
// nothing of the body.

// maxCode bounds an error code: AWS's longest is about 40 characters.
const maxCode = 64

// serviceCode returns code as a message may show it: one or more capitalised
// words (ResourceNotFoundException, AccessDeniedException), after any namespace
// (aws.secretsmanager#…) and before any ":…" suffix, at most maxCode characters.
// Anything else — a code field carrying an echo, say — is shown as
// "an unrecognised error code".
func serviceCode(code string) string {
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if !camelWords(code) || len(code) > maxCode {
		return "an unrecognised error code"
	}
	return code
}

// camelWords reports whether s is capitalised words: an upper-case letter, then
// lower-case letters, repeated (digits and all-capital runs are not a code's shape,
// but an encoded key's).
func camelWords(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
		i++
		n := 0
		for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	return true
}

// httpStatus is the HTTP status of the answer err reports, 0 when there was none
// (the request never got one).
func httpStatus(err error) int {
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		return st.HTTPStatusCode()
	}
	return 0
}

// statusText is " (HTTP 400)" for an answer's status, "" without one.
func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return " (HTTP " + strconv.Itoa(code) + ")"
}
