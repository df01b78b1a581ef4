package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

var errThing = errors.New("the thing")

// A sentinel marks an error without changing what it says; errors.Is finds it
// through every kind of wrapping, and the kind (the exit code) stays the error's.
func TestSentinel(t *testing.T) {
	e := errs.Refusedf("nothing to move: %d wei", 5).Marks(errThing)
	if e.Error() != "nothing to move: 5 wei" {
		t.Errorf("message %q: the sentinel changed it", e.Error())
	}
	for name, err := range map[string]error{
		"itself":       e,
		"fmt.Errorf":   fmt.Errorf("step 7: %w", e),
		"errs.Wrap":    errs.Failedf("rotation stopped").Wrap(e),
		"errors.Join":  errors.Join(errors.New("other"), e),
		"double marks": errs.Failedf("outer").Marks(errors.New("other")).Wrap(e),
	} {
		if !errors.Is(err, errThing) {
			t.Errorf("%s: errors.Is does not find the sentinel", name)
		}
	}
	if errs.KindOf(fmt.Errorf("x: %w", e)) != errs.Refused {
		t.Errorf("kind %d, want Refused", errs.KindOf(e))
	}
	if errors.Is(errs.Refusedf("nothing to move"), errThing) {
		t.Error("an unmarked error with the same words is the sentinel")
	}
	if errors.Is(e, errors.New("the thing")) {
		t.Error("another error with the sentinel's words is the sentinel")
	}
}

func TestKindAndFix(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind errs.Kind
	}{
		{nil, errs.OK},
		{errors.New("plain"), errs.Failed},
		{context.DeadlineExceeded, errs.Timeout},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), errs.Timeout},
		{errs.Usagef("bad"), errs.Usage},
		{fmt.Errorf("x: %w", errs.Timeoutf("late")), errs.Timeout},
		{errs.Exit(errs.Warnings), errs.Warnings},
	} {
		if got := errs.KindOf(c.err); got != c.kind {
			t.Errorf("KindOf(%v) = %d, want %d", c.err, got, c.kind)
		}
	}
	inner := errs.Failedf("inner").WithFix("do this")
	if fix := errs.FixOf(errs.Failedf("outer").Wrap(inner)); fix != "do this" {
		t.Errorf("fix %q, want the inner one when the outer has none", fix)
	}
	if fix := errs.FixOf(errs.Failedf("outer").WithFix("that").Wrap(inner)); fix != "that" {
		t.Errorf("fix %q, want the outer one", fix)
	}
	if !errs.IsSilent(fmt.Errorf("x: %w", errs.Exit(errs.Warnings))) || errs.IsSilent(errs.Failedf("loud")) {
		t.Error("IsSilent")
	}
}
