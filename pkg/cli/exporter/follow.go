package exporter

import (
	"context"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/monitor"
)

// follow keeps the relayer that came from a signer reference on the store's
// current key: a key rotation promotes a new key while the exporter runs, and the
// exporter must watch the new relayer, not report the drained old one as empty.
// The reference is resolved again before every refresh (one secret read per
// --interval); when it cannot be read the last address is kept.
type follow struct {
	reader  *monitor.Reader
	ref     string
	idx     int
	resolve func(ctx context.Context, ref string) (common.Address, error)
	logf    func(format string, args ...any)

	mu     sync.Mutex
	failed bool
}

// read is the exporter's refresh: re-resolve the signer, then read everything.
func (f *follow) read(ctx context.Context) monitor.Readings {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.resolve(ctx, f.ref)
	switch {
	case err != nil:
		if !f.failed {
			f.logf("cannot read the current key of %s (still watching %s): %v", f.ref, f.reader.Relayers[f.idx].Hex(), err)
		}
		f.failed = true
	case a != f.reader.Relayers[f.idx]:
		f.logf("%s now holds the key of %s (was %s): watching the new relayer", f.ref, a.Hex(), f.reader.Relayers[f.idx].Hex())
		f.reader.Relayers[f.idx], f.failed = a, false
	default:
		f.failed = false
	}
	return f.reader.Read(ctx)
}
