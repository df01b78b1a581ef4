package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// A file:// or keystore:// store's claim is an exclusive lock file beside the key,
// PATH.rotation: created only if it does not exist (a hard link, which fails if it
// does), holding the rotation's identity and, once written, its version. Two
// rotations on machines sharing the directory (NFS, a mounted volume) cannot both
// create it. It holds no key.

// lockFile is what PATH.rotation holds.
type lockFile struct {
	Rotation
	Version string `json:"version,omitempty"`
}

func (s *localStore) claimPath() string { return s.ref.Path + ".rotation" }

// readLock reads the lock file; nil when there is none.
func (s *localStore) readLock() (*lockFile, error) {
	b, err := os.ReadFile(s.claimPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Failedf("cannot read the rotation lock %s", s.claimPath()).Wrap(err)
	}
	var l lockFile
	if err := json.Unmarshal(b, &l); err != nil || l.ID == "" {
		return nil, errs.Failedf("the rotation lock %s is not vrwxctl's (or is damaged)", s.claimPath()).
			WithFix("inspect it (it holds no key); remove it only if no rotation of " + s.ref.Shown() + " is running")
	}
	return &l, nil
}

// writeLock replaces the lock file's content (the claim is already held).
func (s *localStore) writeLock(l lockFile) error {
	b, _ := json.MarshalIndent(l, "", "  ")
	dir := filepath.Dir(s.claimPath())
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.claimPath())+".tmp-*")
	if err != nil {
		return errs.Failedf("cannot write the rotation lock in %s", dir).Wrap(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return errs.Failedf("cannot write the rotation lock %s", tmp).Wrap(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return errs.Failedf("cannot write the rotation lock %s", tmp).Wrap(err)
	}
	f.Close()
	return rename(tmp, s.claimPath())
}

func (s *localStore) claimOf(ctx context.Context, l *lockFile) *Claim {
	c := &Claim{Rotation: l.Rotation, Version: l.Version}
	if fi, err := os.Stat(s.claimPath()); err == nil {
		c.Written = fi.ModTime().UTC()
	}
	if l.Version == "" {
		return c
	}
	c.Address = common.HexToAddress(l.Version)
	if ok, _ := exists(s.stagePath(StageCurrent)); ok {
		if a, err := s.codec.address(ctx, s, s.stagePath(StageCurrent), s.ref.Shown()); err == nil && a == c.Address {
			c.Current = true
		}
	}
	return c
}

func (s *localStore) Claim(ctx context.Context) (*Claim, error) {
	if err := s.recover(); err != nil {
		return nil, err
	}
	l, err := s.readLock()
	if err != nil {
		return nil, err
	}
	if l != nil {
		return s.claimOf(ctx, l), nil
	}
	pend := s.stagePath(StagePending)
	if ok, err := exists(pend); err != nil {
		return nil, err
	} else if ok {
		v := s.version(ctx, StagePending, pend)
		return &Claim{Unidentified: true, Version: v.ID, Address: v.Address, Written: v.Created}, nil
	}
	return nil, nil
}

func (s *localStore) ClaimPending(ctx context.Context, key PrivateKey, rot Rotation) (Version, error) {
	if key.IsZero() || rot.ID == "" {
		return Version{}, errs.Usagef("no key or rotation to claim %s with", s.ref.Shown())
	}
	if err := s.recover(); err != nil {
		return Version{}, err
	}
	if ok, err := exists(s.stagePath(StageCurrent)); err != nil {
		return Version{}, err
	} else if !ok {
		return Version{}, s.missing(StageCurrent, s.stagePath(StageCurrent))
	}
	l, err := s.readLock()
	if err != nil {
		return Version{}, err
	}
	switch {
	case l != nil && l.ID != rot.ID:
		return Version{}, claimed(s.ref, *s.claimOf(ctx, l))
	case l != nil && l.Version != "":
		// This rotation's claim, its key written: the same version again.
		_, v, err := s.Read(ctx, l.Version)
		return v, err
	case l == nil:
		// A pending key no rotation claims blocks the claim.
		pend := s.stagePath(StagePending)
		if ok, err := exists(pend); err != nil {
			return Version{}, err
		} else if ok {
			v := s.version(ctx, StagePending, pend)
			return Version{}, claimed(s.ref, Claim{Unidentified: true, Version: v.ID, Address: v.Address})
		}
		b, _ := json.MarshalIndent(lockFile{Rotation: rot}, "", "  ")
		if err := writeExclusive(s.claimPath(), append(b, '\n')); err != nil {
			if errors.Is(err, fs.ErrExist) {
				other, rerr := s.readLock()
				if rerr != nil || other == nil {
					return Version{}, errs.Refusedf("another rotation of %s took its lock %s at the same moment; nothing was written", s.ref.Shown(), s.claimPath()).Marks(ErrClaimed)
				}
				return Version{}, claimed(s.ref, *s.claimOf(ctx, other))
			}
			return Version{}, err
		}
	}
	// The claim is this rotation's. Promotions need the claim, so the current key
	// cannot change from here on: it must still be the one the rotation planned
	// from, else another rotation came and went.
	if _, cur, err := s.Read(ctx, ""); err != nil {
		return Version{}, err
	} else if rot.Old != "" && cur.ID != rot.Old {
		_ = s.ReleaseClaim(ctx, rot.ID)
		return Version{}, moved(s.ref, rot.Old, cur.ID)
	}
	data, err := s.codec.encode(ctx, s, key, false)
	if err != nil {
		return Version{}, err
	}
	defer clear(data)
	pend := s.stagePath(StagePending)
	if err := writeExclusive(pend, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Version{}, pendingExists(s.ref, s.version(ctx, StagePending, pend))
		}
		return Version{}, err
	}
	id := addrID(key.Address())
	if err := s.writeLock(lockFile{Rotation: rot, Version: id}); err != nil {
		return Version{}, err
	}
	return Version{ID: id, Stages: []string{StagePending}, Created: time.Now().UTC(), Address: key.Address()}, nil
}

func (s *localStore) ReleaseClaim(_ context.Context, id string) error {
	l, err := s.readLock()
	if err != nil || l == nil {
		return err
	}
	if l.ID != id {
		return errs.Failedf("%s is claimed by rotation %s, not %s; its claim stays", s.ref.Shown(), l.ID, id)
	}
	if err := os.Remove(s.claimPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.Failedf("cannot remove the rotation lock %s", s.claimPath()).Wrap(err)
	}
	syncDir(filepath.Dir(s.claimPath()))
	return nil
}

func (s *localStore) PromoteFrom(ctx context.Context, versionID, from string) error {
	if from != "" {
		if _, v, err := s.Read(ctx, ""); err != nil {
			return err
		} else if v.ID != addrID(common.HexToAddress(versionID)) && v.ID != from {
			return errs.Refusedf("the current key of %s is %s, not %s as when the rotation started: someone else changed the store; nothing was promoted", s.ref.Shown(), v.Address.Hex(), from)
		}
	}
	return s.Promote(ctx, versionID)
}

func (s *localStore) CheckWritable(context.Context) error {
	dir := filepath.Dir(s.ref.Path)
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		return errs.Failedf("the directory %s of %s is not writable by this user: %v", dir, s.ref.Shown(), err).
			WithFix("run as the user that owns the key files, or give write access to " + dir)
	}
	return nil
}
