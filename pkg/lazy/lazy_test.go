package lazy

import (
	"strings"
	"sync"
	"testing"
)

var word = &Regexp{Expr: `^(\w+)-(\d+)$`}

// Every method answers as the compiled expression does, from any goroutine.
func TestRegexp(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !word.MatchString("a-1") || word.MatchString("a-b") {
				t.Error("MatchString")
			}
		})
	}
	wg.Wait()
	if m := word.FindStringSubmatch("ab-12"); len(m) != 3 || m[1] != "ab" || m[2] != "12" {
		t.Errorf("FindStringSubmatch: %q", m)
	}
	if s := word.ReplaceAllString("x-9", "$2$1"); s != "9x" {
		t.Errorf("ReplaceAllString: %q", s)
	}
	if s := word.ReplaceAllStringFunc("x-9", strings.ToUpper); s != "X-9" {
		t.Errorf("ReplaceAllStringFunc: %q", s)
	}
	if first, again := word.Regexp(), word.Regexp(); first != again {
		t.Error("compiled twice")
	}
}

// An expression that does not compile panics on first use, naming it.
func TestBadExpressionPanicsOnFirstUse(t *testing.T) {
	bad := &Regexp{Expr: `(`}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "(") {
			t.Errorf("recovered %v", r)
		}
	}()
	bad.MatchString("x")
}
