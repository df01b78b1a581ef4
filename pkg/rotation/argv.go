package rotation

import (
	"strings"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// SplitCommand splits a deployment command into argv the way a POSIX shell splits
// words, and does nothing else a shell does: no variable or command expansion, no
// globbing, no pipes, lists or redirections. The command is then executed
// directly, so `kubectl rollout restart deployment/vrwx-api` runs kubectl with
// three arguments whatever the environment holds.
//
// Quoting, as POSIX has it: '…' keeps everything literally; "…" keeps
// everything, a backslash escaping only " \ $ and ` (before anything else it
// stays); outside quotes a backslash keeps the next character. $HOME, ~ and *
// are passed as written. An unquoted |, &, ;, <, >, `, $( or ( … ) would mean something
// to a shell that it cannot mean here, so it is refused rather than passed on as
// an argument; quote it to pass it literally, or run `sh -c '…'` explicitly.
func SplitCommand(s string) ([]string, error) {
	var (
		argv  []string
		cur   strings.Builder
		inArg bool
	)
	bad := func(why string) error {
		return errs.Usagef("deploy command %s: %s", redact.Quote(s), why)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				argv = append(argv, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			inArg = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, bad("a single quote is not closed")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inArg = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, bad("a double quote is not closed")
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, bad("it ends with a backslash")
			}
			inArg = true
			i++
			cur.WriteByte(s[i])
		case strings.IndexByte("|&;<>`()", c) >= 0 || (c == '$' && i+1 < len(s) && s[i+1] == '('):
			return nil, bad("it holds " + shellWord(s, i) + ", which only a shell understands; vrwxctl runs the command without a shell (quote the character to pass it as an argument, or give `sh -c '…'` yourself)")
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		argv = append(argv, cur.String())
	}
	if len(argv) == 0 {
		return nil, bad("it is empty; expected a command such as 'kubectl rollout restart deployment/vrwx-api'")
	}
	return argv, nil
}

// shellWord names the shell operator at s[i] for a message.
func shellWord(s string, i int) string {
	for _, op := range []string{"&&", "||", ">>", "$("} {
		if strings.HasPrefix(s[i:], op) {
			return "`" + op + "`"
		}
	}
	return "`" + s[i:i+1] + "`"
}

// QuoteCommand is argv written back as one line a shell would split into the
// same words, for plans and journals.
func QuoteCommand(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '/' || r == '.' || r == '=' || r == ':' || r == ',' || r == '@' || r == '+' ||
				('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
