package txflow

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestSignerLockIsExclusivePerSigner(t *testing.T) {
	dir := t.TempDir()
	a, b := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	ctx := context.Background()
	l1, err := AcquireSignerLock(ctx, dir, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another signer is not held up.
	l2, err := AcquireSignerLock(ctx, dir, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
	// The same signer waits, says who holds it, and gives up with the deadline.
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	holder := 0
	_, err = AcquireSignerLock(short, dir, a, func(pid int) { holder = pid })
	if errs.KindOf(err) != errs.Timeout || holder != os.Getpid() {
		t.Fatalf("want a timeout naming holder %d, got %v (holder %d)", os.Getpid(), err, holder)
	}
	// Once released, the next one gets it at once.
	done := make(chan error)
	go func() {
		l, err := AcquireSignerLock(ctx, dir, a, nil)
		l.Release()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	l1.Release()
	l1.Release() // twice is harmless
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(LockPath(dir, a)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file %v %v", fi, err)
	}
}
