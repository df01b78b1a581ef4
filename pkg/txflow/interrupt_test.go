package txflow_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
)

// Ctrl-C while a sent transaction is waited for is an interruption, not a timeout:
// exit 130 (143 for SIGTERM), the hash, "do NOT resend" and how to follow it; the
// audit log keeps the transaction open for the next run.
func TestInterruptedWaitIsNotATimeout(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		e := newEnv(t)
		e.c.Automine = false
		ctx, cancel := context.WithCancelCause(ctxT(t))
		e.c.Fault = func(*types.Transaction) txflowtest.Fault { cancel(errs.Signal(sig)); return txflowtest.Accept }
		res, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(1)))
		want := errs.Interrupted
		if sig == syscall.SIGTERM {
			want = errs.Terminated
		}
		if errs.KindOf(err) != want || !errors.Is(err, errs.ErrInterrupted) || res == nil ||
			!strings.Contains(err.Error(), res.TxHash+" (nonce 0) was sent") || !strings.Contains(err.Error(), "while waiting for "+res.TxHash) {
			t.Fatalf("%v: %v (kind %d)", sig, err, errs.KindOf(err))
		}
		if fix := errs.FixOf(err); !strings.Contains(fix, "do NOT resend") || !strings.Contains(fix, "tx wait "+res.TxHash) {
			t.Errorf("fix %q", fix)
		}
		if got := e.outcomes("wallet fund"); !equal(got, []string{audit.Sent, audit.Timeout}) {
			t.Errorf("audit %v", got)
		}
		// The same command again is refused: the chain shows it pending.
		e.c.Mine()
		if _, _, err := e.machine().flow("wallet fund").Fund(ctxT(t), fund(eth(1))); !errors.Is(err, txflow.ErrAlreadyPaid) {
			t.Errorf("rerun after the interruption: %v", err)
		}
	}
}
