// Package errs defines the error kinds every vrwxctl command shares and the exit
// code each maps to, so domain packages can say "bad input" or "refused by a safety
// rail" without knowing there is a CLI.
//
// A kind says how the process ends; what happened, when a caller must tell cases
// apart, is a sentinel of the package that made the error (chain.ErrNothingToSend)
// attached with Marks, which errors.Is finds. Callers decide by those, never by an
// error's words.
package errs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Kind classifies an error; its numeric value is the process exit code.
type Kind int

// Exit codes, the same in every command (README "Exit codes").
const (
	OK       Kind = 0 // success
	Failed   Kind = 1 // the operation failed, or a check found something critical
	Usage    Kind = 2 // bad usage or input; nothing was changed
	Refused  Kind = 3 // refused by a safety rail (chain-id guard, no confirmation, loose key file)
	Timeout  Kind = 4 // timed out waiting
	Warnings Kind = 5 // status/doctor: warnings only, nothing critical
	// Interrupted and Terminated end a command stopped by SIGINT (Ctrl-C) or SIGTERM:
	// 128 + the signal's number, as a shell reports a process the signal killed.
	Interrupted Kind = 130
	Terminated  Kind = 143
)

// ErrInterrupted marks an error that ended a command because it was interrupted
// (SIGINT or SIGTERM), not because anything failed or ran out of time.
var ErrInterrupted = errors.New("interrupted")

// Signal is the cause a command's context is cancelled with when sig arrives: kind
// Interrupted for SIGINT, Terminated for SIGTERM, marked ErrInterrupted.
func Signal(sig os.Signal) *Error {
	if sig == syscall.SIGTERM {
		return (&Error{Kind: Terminated, Msg: "terminated (SIGTERM)"}).Marks(ErrInterrupted)
	}
	return (&Error{Kind: Interrupted, Msg: "interrupted (SIGINT)"}).Marks(ErrInterrupted)
}

// Interruption returns the signal that ended ctx (its cause, marked
// ErrInterrupted), or nil when ctx is live or ended otherwise (a deadline).
func Interruption(ctx context.Context) *Error {
	if ctx.Err() == nil {
		return nil
	}
	var e *Error
	if c := context.Cause(ctx); errors.Is(c, ErrInterrupted) && errors.As(c, &e) {
		return e
	}
	return nil
}

// Stopped is what a wait returns when ctx ended before it: an interruption with
// what was being waited for (how to go on is the caller's fix), or timeout as it is.
func Stopped(ctx context.Context, waiting string, timeout error) error {
	if sig := Interruption(ctx); sig != nil {
		return (&Error{Kind: sig.Kind, Msg: sig.Msg + " while " + waiting}).Marks(ErrInterrupted)
	}
	return timeout
}

// Error is an error with a kind, a message, and optionally the fix an operator
// should try. Message and Fix must never contain secret material.
type Error struct {
	Kind Kind
	Msg  string
	Fix  string
	Err  error
	// Sentinel says what happened in the terms of the package that made the error:
	// errors.Is(err, Sentinel) holds. It adds nothing to the message.
	Sentinel error
	// Silent means the command already reported the outcome; only the exit code is left.
	Silent bool
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's sentinel, so errors.Is finds it.
func (e *Error) Is(target error) bool { return e.Sentinel != nil && e.Sentinel == target }

// Marks returns e marked as an instance of sentinel (see Error.Sentinel).
func (e *Error) Marks(sentinel error) *Error { e.Sentinel = sentinel; return e }

// WithFix returns e with the operator's fix attached.
func (e *Error) WithFix(fix string) *Error { e.Fix = fix; return e }

// Wrap returns e with the underlying cause attached.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

func newf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Usagef reports bad input (exit 2). Name the bad value and the expected form.
func Usagef(format string, args ...any) *Error { return newf(Usage, format, args...) }

// Refusedf reports a safety-rail refusal (exit 3).
func Refusedf(format string, args ...any) *Error { return newf(Refused, format, args...) }

// Failedf reports a failed operation (exit 1).
func Failedf(format string, args ...any) *Error { return newf(Failed, format, args...) }

// Timeoutf reports a wait that ran out of time (exit 4).
func Timeoutf(format string, args ...any) *Error { return newf(Timeout, format, args...) }

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// Timeout for a context deadline, Failed otherwise (OK for nil).
func KindOf(err error) Kind {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Failed
}

// FixOf returns the first fix found in err's chain, or "".
func FixOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Fix != "" {
			return e.Fix
		}
		err = e.Err
	}
	return ""
}

// WithFix returns err with fix attached, keeping its kind, message and chain (a
// caller adding the advice that names its own commands to a library's error).
func WithFix(err error, fix string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindOf(err), Err: err, Fix: fix}
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }

// Exit ends a command with kind k after it has printed its own report (for example
// `status` finding warnings): nothing more is printed.
func Exit(k Kind) *Error { return &Error{Kind: k, Msg: fmt.Sprintf("exit %d", k), Silent: true} }

// IsSilent reports whether err asks for no further message.
func IsSilent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Silent
}
