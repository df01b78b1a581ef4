package txflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// SignerLock is an advisory lock (flock) that lets one process at a time on this
// host pick a nonce for one signer. Two processes reading the same pending nonce
// would sign two transactions at that nonce: one replaces the other, or is refused
// as underpriced. The kernel drops the lock when its holder exits, however it exits,
// so a killed vrwxctl never leaves a stale lock behind.
type SignerLock struct {
	f *os.File
}

// LockPath is where the lock for addr lives under dir.
func LockPath(dir string, addr common.Address) string {
	return filepath.Join(dir, "locks", strings.ToLower(addr.Hex())+".lock")
}

// AcquireSignerLock takes addr's lock under dir, waiting until ctx ends. waiting is
// called once, with the holder's process id when known, if the lock is busy.
func AcquireSignerLock(ctx context.Context, dir string, addr common.Address, waiting func(holder int)) (*SignerLock, error) {
	p := LockPath(dir, addr)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("send lock %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("send lock %s: %w", p, err)
	}
	start := time.Now()
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("send lock %s: %w", p, err)
		}
		holder := readHolder(p)
		if !announced && waiting != nil {
			waiting(holder)
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			who := "another vrwxctl"
			if holder > 0 {
				who += fmt.Sprintf(" (pid %d)", holder)
			}
			return nil, errs.WithFix(errs.Stopped(ctx, "waiting for "+who+" to finish sending from "+addr.Hex()+"; nothing was signed",
				errs.Timeoutf("%s is still sending from %s after %s; nothing was signed", who, addr.Hex(), time.Since(start).Round(time.Millisecond))),
				"wait for the other send to finish, then run this again")
		case <-time.After(25 * time.Millisecond):
		}
	}
	// The holder's pid is for the "waiting for" message only; the lock is the flock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &SignerLock{f: f}, nil
}

func readHolder(p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// Release drops the lock. It is safe to call more than once and on nil.
func (l *SignerLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
