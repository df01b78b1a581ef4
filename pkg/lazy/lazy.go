// Package lazy holds what vrwxctl builds on first use rather than at start-up.
//
// Every package a command links runs its package-level initialisers before main,
// whether the command needs them or not: a regular expression compiled in a
// package-level var costs every `vrwxctl version` its compile (kilobytes of
// allocations each). A package-level
//
//	var name = &lazy.Regexp{Expr: `^[a-z]+$`}
//
// is laid out by the compiler with nothing run at start-up; the expression is
// compiled the first time a method is called. cmd/vrwxctl's TestNothingIsBuiltAtInit
// holds every package to this.
package lazy

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use (regexp.MustCompile: an
// expression that does not compile panics then, as a package-level MustCompile
// would at start-up; tests that exercise the code find it). Use it through a
// pointer; it must not be copied.
type Regexp struct {
	Expr string

	once sync.Once
	re   *regexp.Regexp
}

// Regexp returns the compiled expression.
func (r *Regexp) Regexp() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.Expr) })
	return r.re
}

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.Regexp().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.Regexp().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.Regexp().ReplaceAllString(src, repl)
}

// ReplaceAllStringFunc is regexp.Regexp.ReplaceAllStringFunc.
func (r *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return r.Regexp().ReplaceAllStringFunc(src, repl)
}
