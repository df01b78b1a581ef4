package secrets

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// hexFileCodec stores a key as 0x-prefixed hex in a file only its owner can
// read. A file other users could read has already leaked its key to them, so it
// is refused rather than used.
type hexFileCodec struct{}

func (hexFileCodec) load(_ context.Context, _ *localStore, path, name string) (PrivateKey, error) {
	if err := checkKeyFileMode(path, name); err != nil {
		return PrivateKey{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return PrivateKey{}, errs.Failedf("cannot read key file %s (%s)", redact.Mask(path), name).Wrap(err)
	}
	defer clear(b)
	return parseHexKey(name, string(b))
}

func (c hexFileCodec) address(ctx context.Context, s *localStore, path, name string) (common.Address, error) {
	k, err := c.load(ctx, s, path, name)
	return k.Address(), err
}

func (hexFileCodec) encode(_ context.Context, _ *localStore, key PrivateKey, _ bool) ([]byte, error) {
	return []byte(key.hexEncode() + "\n"), nil
}

// hexFileHoldsKey checks that path holds a hex private key, whatever its mode.
func hexFileHoldsKey(path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errs.Failedf("cannot read key file %s (%s)", redact.Mask(path), name).Wrap(err)
	}
	defer clear(b)
	_, err = parseHexKey(name, string(b))
	return err
}

// checkKeyFileMode refuses (errs.Refused) a key file whose mode is not 0600 or
// 0400. Windows has no such mode bits, so there the check is skipped.
func checkKeyFileMode(path, name string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errs.Usagef("key file %s does not exist (%s)", redact.Mask(path), name)
		}
		return errs.Failedf("cannot inspect key file %s (%s)", redact.Mask(path), name).Wrap(err)
	}
	if !fi.Mode().IsRegular() {
		return errs.Usagef("%s is not a regular file (%s); expected a file holding a hex private key", redact.Mask(path), name)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm != 0o600 && perm != 0o400 {
		return errs.Refusedf("key file %s has mode %04o; refusing a key file that is not 0600 or 0400, because others on this machine can read it (%s)", redact.Mask(path), perm, name).
			WithFix("chmod 600 " + redact.Mask(path))
	}
	return nil
}
