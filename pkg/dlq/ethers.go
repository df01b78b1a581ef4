package dlq

import (
	"encoding/json"
	"errors"
	"strings"
)

// The API writes ethers v6's error message verbatim into a TX_FAIL row's reason.
// ethers builds that message as `short message (key=value, …, code=CODE,
// version=V)`, each value serialised by its own stringify: strings JSON-quoted,
// null, numbers and bigints bare, Uint8Arrays as 0x hex, arrays `[ a, b ]` and
// objects `{ "k": v, … }` with their keys sorted. This file reads that text back
// into values; reason.go interprets them.

// bare is a value ethers printed without quotes: a code (CALL_EXCEPTION), a
// version (6.16.0), a number, a boolean, or a placeholder such as [Circular].
type bare string

// ethersDetails are the key=value pairs of an ethers message, in their order.
type ethersDetails struct {
	keys []string
	vals map[string]any
}

func (d *ethersDetails) get(key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	v, ok := d.vals[key]
	return v, ok
}

// str returns a detail as text: a JSON string's content or a bare token; "" for
// null, objects and arrays.
func (d *ethersDetails) str(key string) string {
	v, _ := d.get(key)
	return asText(v)
}

func asText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bare:
		return string(t)
	}
	return ""
}

// splitEthers finds the details list of an ethers message: the leftmost " (" that
// opens `key=value, …)` running to the end of the text. The short message may hold
// parentheses of its own ("execution reverted (unknown custom error)"), which do
// not start with key=, so they are passed over.
func splitEthers(s string) (msg string, d *ethersDetails, ok bool) {
	end := len(strings.TrimRight(s, " \t\r\n"))
	for i := 0; i < end; i++ {
		if s[i] != '(' || !startsDetail(s[i+1:]) {
			continue
		}
		p := &ethersParser{s: s[:end], i: i + 1}
		if d, err := p.details(); err == nil && p.i == end {
			return strings.TrimSpace(s[:i]), d, true
		}
	}
	return strings.TrimSpace(s), nil, false
}

// startsDetail reports whether s starts with an identifier followed by '='.
func startsDetail(s string) bool {
	n := identLen(s)
	return n > 0 && n < len(s) && s[n] == '='
}

func identLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		if c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (n > 0 && c >= '0' && c <= '9') {
			n++
			continue
		}
		break
	}
	return n
}

var errSyntax = errors.New("not ethers' serialisation")

// maxDepth bounds nesting, so a hostile or corrupted reason cannot exhaust the stack.
const maxDepth = 32

type ethersParser struct {
	s string
	i int
}

func (p *ethersParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *ethersParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// details reads `key=value, …)` after the opening parenthesis.
func (p *ethersParser) details() (*ethersDetails, error) {
	d := &ethersDetails{vals: map[string]any{}}
	for {
		p.ws()
		n := identLen(p.s[p.i:])
		if n == 0 || p.i+n >= len(p.s) || p.s[p.i+n] != '=' {
			return nil, errSyntax
		}
		key := p.s[p.i : p.i+n]
		p.i += n + 1
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		if _, dup := d.vals[key]; !dup {
			d.keys = append(d.keys, key)
		}
		d.vals[key] = v
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
			p.i++
			return d, nil
		default:
			return nil, errSyntax
		}
	}
}

func (p *ethersParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	p.ws()
	switch c := p.peek(); c {
	case 0:
		return nil, errSyntax
	case '"':
		return p.str()
	case '{':
		return p.object(depth + 1)
	case '[':
		for _, ph := range []string{"[Circular]", "[ COULD NOT SERIALIZE ]"} {
			if strings.HasPrefix(p.s[p.i:], ph) {
				p.i += len(ph)
				return bare(ph), nil
			}
		}
		return p.array(depth + 1)
	}
	return p.bare()
}

// str reads a JSON string.
func (p *ethersParser) str() (string, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			var out string
			if err := json.Unmarshal([]byte(p.s[start:p.i]), &out); err != nil {
				return "", errSyntax
			}
			return out, nil
		}
		p.i++
	}
	return "", errSyntax
}

// bare reads an unquoted token up to the next separator.
func (p *ethersParser) bare() (any, error) {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(",)}]", p.s[p.i]) < 0 {
		p.i++
	}
	tok := strings.TrimSpace(p.s[start:p.i])
	switch tok {
	case "":
		return nil, errSyntax
	case "null", "undefined":
		return nil, nil
	}
	return bare(tok), nil
}

func (p *ethersParser) object(depth int) (map[string]any, error) {
	p.i++ // {
	out := map[string]any{}
	p.ws()
	if p.peek() == '}' {
		p.i++
		return out, nil
	}
	for {
		p.ws()
		var key string
		if p.peek() == '"' {
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			key = k
		} else {
			n := identLen(p.s[p.i:])
			if n == 0 {
				return nil, errSyntax
			}
			key, p.i = p.s[p.i:p.i+n], p.i+n
		}
		p.ws()
		if p.peek() != ':' {
			return nil, errSyntax
		}
		p.i++
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		out[key] = v
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, errSyntax
		}
	}
}

func (p *ethersParser) array(depth int) ([]any, error) {
	p.i++ // [
	var out []any
	p.ws()
	if p.peek() == ']' {
		p.i++
		return out, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return out, nil
		default:
			return nil, errSyntax
		}
	}
}
