package clitest

import (
	"regexp"
	"strings"
	"sync"

	"github.com/vrwx/vrwxctl/pkg/cli"
)

var (
	commandsOnce sync.Once
	commands     map[string]bool
)

// isCommand reports whether name is one of vrwxctl's top-level commands.
func isCommand(name string) bool {
	commandsOnce.Do(func() {
		commands = map[string]bool{}
		for _, name := range cli.Commands() {
			commands[name] = true
		}
	})
	return commands[name]
}

// placeholder is a word a fix leaves for the operator to fill in: <relayer-ref>,
// …, REF, N, ID.
var placeholder = regexp.MustCompile(`^<.*>$|…|^[A-Z][A-Z_]*$`)

// AdviceCommands returns the `vrwxctl …` commands text names, each as its words
// after "vrwxctl": inside backticks the whole quote, otherwise up to the prose that
// follows it (a parenthesis, "or", a semicolon, a sentence's end).
func AdviceCommands(text string) [][]string {
	var out [][]string
	for {
		i := strings.Index(text, "vrwxctl ")
		if i < 0 {
			return out
		}
		quoted := i > 0 && text[i-1] == '`'
		text = text[i+len("vrwxctl "):]
		var words []string
		for _, w := range strings.Fields(text) {
			if quoted {
				if j := strings.IndexByte(w, '`'); j >= 0 {
					if w[:j] != "" {
						words = append(words, w[:j])
					}
					break
				}
				words = append(words, w)
				continue
			}
			if strings.HasPrefix(w, "(") || w == "or" || w == "and" || w == "—" || w == "then" || w == "if" || w == "vrwxctl" {
				break
			}
			trimmed := strings.TrimRight(w, ");,")
			if trimmed != "" {
				words = append(words, trimmed)
			}
			if trimmed != w {
				break
			}
		}
		if len(words) > 0 {
			out = append(out, words)
		}
	}
}

// HasPlaceholder reports whether a command leaves a word for the operator to fill.
func HasPlaceholder(words []string) bool {
	for _, w := range words {
		if placeholder.MatchString(w) {
			return true
		}
	}
	return false
}

// CheckAdvice runs every command the fix texts name that needs nothing filled in,
// as printed, in this environment with --dry-run added (nothing is sent or
// written), and fails the test when vrwxctl refuses it as bad usage (exit 2: an
// unknown command or flag, a value of the wrong form, a read-only store asked to
// change). It returns how many commands it ran. A fix that cannot run as printed
// in the situation that produced it sends the operator nowhere at 3 a.m.
func (e *Env) CheckAdvice(fixes ...string) int {
	e.T.Helper()
	ran := 0
	seen := map[string]bool{}
	for _, fix := range fixes {
		for _, words := range AdviceCommands(fix) {
			key := strings.Join(words, " ")
			if seen[key] || HasPlaceholder(words) || !isCommand(words[0]) {
				continue // filled in by the operator, or prose ("vrwxctl reads …")
			}
			seen[key] = true
			r := e.Run(append(words, "--dry-run")...)
			if r.Code == 2 {
				e.T.Errorf("the fix %q names `vrwxctl %s`, which is refused as bad usage here:\n%s", fix, key, r)
			}
			ran++
		}
	}
	return ran
}
