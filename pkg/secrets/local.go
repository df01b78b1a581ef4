package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// localCodec reads and writes one key file of a local store.
type localCodec interface {
	// load reads the key in path; name identifies it in errors.
	load(ctx context.Context, s *localStore, path, name string) (PrivateKey, error)
	// address returns the address of the key in path as cheaply as the format
	// allows (a keystore records it in clear, so no password is needed).
	address(ctx context.Context, s *localStore, path, name string) (common.Address, error)
	// encode serialises key for a new file. firstKey says the store is empty, so
	// a password asked for now is asked twice.
	encode(ctx context.Context, s *localStore, key PrivateKey, firstKey bool) ([]byte, error)
}

// localStore keeps the versions of a file:// or keystore:// key as sibling
// files; see "Local files" in the package documentation.
type localStore struct {
	ref   Ref
	opts  Options
	codec localCodec
	pw    *string
}

func newLocalStore(r Ref, opts Options, c localCodec) *localStore {
	return &localStore{ref: r, opts: opts, codec: c}
}

func (s *localStore) Ref() Ref { return s.ref }

func (s *localStore) stagePath(stage string) string {
	switch stage {
	case StagePending:
		return s.ref.Path + ".pending"
	case StagePrevious:
		return s.ref.Path + ".previous"
	}
	return s.ref.Path
}

func (s *localStore) rollbackPath() string { return s.ref.Path + ".rollback" }

func (s *localStore) retiredPath(a common.Address) string {
	return s.ref.Path + ".retired-" + addrID(a)
}

// addrID is the version ID of a local key: its address in lower case.
func addrID(a common.Address) string { return strings.ToLower(a.Hex()) }

func (s *localStore) name(stage, path string) string {
	if stage == StageCurrent {
		return s.ref.String()
	}
	if stage == "" {
		stage = "retired"
	}
	return fmt.Sprintf("%s (%s file %s)", s.ref.Shown(), stage, redact.Mask(path))
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, errs.Failedf("cannot inspect key file %s", redact.Mask(path)).Wrap(err)
}

func (s *localStore) version(ctx context.Context, stage, path string) Version {
	v := Version{ID: stage, Stages: []string{stage}}
	if stage == "" {
		v.ID, v.Stages = filepath.Base(path), nil
	}
	if fi, err := os.Stat(path); err == nil {
		v.Created = fi.ModTime().UTC()
	}
	a, err := s.codec.address(ctx, s, path, s.name(stage, path))
	if err != nil {
		v.Problem = err.Error()
		return v
	}
	v.ID, v.Address = addrID(a), a
	return v
}

func (s *localStore) Read(ctx context.Context, versionID string) (PrivateKey, Version, error) {
	stage, path := StageCurrent, s.stagePath(StageCurrent)
	if versionID != "" {
		var err error
		if stage, path, err = s.find(ctx, versionID); err != nil {
			return PrivateKey{}, Version{}, err
		}
	} else if ok, err := exists(path); err != nil {
		return PrivateKey{}, Version{}, err
	} else if !ok {
		return PrivateKey{}, Version{}, s.missing(StageCurrent, path)
	}
	k, err := s.codec.load(ctx, s, path, s.name(stage, path))
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	v := Version{ID: addrID(k.Address()), Address: k.Address()}
	if stage != "" {
		v.Stages = []string{stage}
	}
	if fi, err := os.Stat(path); err == nil {
		v.Created = fi.ModTime().UTC()
	}
	return k, v, nil
}

func (s *localStore) missing(stage, path string) error {
	if stage == StageCurrent {
		if ok, _ := exists(s.rollbackPath()); ok {
			return errs.Failedf("key file %s does not exist (signer reference %s)", redact.Mask(path), s.ref.Shown()).
				WithFix("a rollback was interrupted; run the rollback again to finish it")
		}
		// A reference to a file that is not there names nothing: bad input.
		e := errs.Usagef("key file %s does not exist (signer reference %s)", redact.Mask(path), s.ref.Shown())
		if hint := s.ref.absoluteHint(); hint != "" {
			return e.WithFix(hint)
		}
		return e.WithFix("check the path, or create a key there with `vrwxctl key generate --store " + s.ref.Shown() + "`")
	}
	return errs.Failedf("%s has no %s key (no file %s)", s.ref.Shown(), stage, redact.Mask(path))
}

// find locates the file holding version id; stage is "" for a retired key.
func (s *localStore) find(ctx context.Context, id string) (stage, path string, err error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !common.IsHexAddress(id) || !strings.HasPrefix(id, "0x") {
		return "", "", errs.Failedf("%s has no version %q; versions of local key files are named by the key's address (0x…)", s.ref.Shown(), redactRef(id))
	}
	for _, st := range []string{StageCurrent, StagePending, StagePrevious} {
		p := s.stagePath(st)
		ok, err := exists(p)
		if err != nil {
			return "", "", err
		}
		if !ok {
			continue
		}
		a, err := s.codec.address(ctx, s, p, s.name(st, p))
		if err != nil {
			return "", "", err
		}
		if addrID(a) == id {
			return st, p, nil
		}
	}
	p := s.retiredPath(common.HexToAddress(id))
	if ok, err := exists(p); err != nil {
		return "", "", err
	} else if ok {
		return "", p, nil
	}
	return "", "", errs.Failedf("%s has no version %s", s.ref.Shown(), id)
}

func (s *localStore) ReadPending(ctx context.Context) (PrivateKey, Version, error) {
	p := s.stagePath(StagePending)
	ok, err := exists(p)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	if !ok {
		return PrivateKey{}, Version{}, s.missing(StagePending, p)
	}
	k, err := s.codec.load(ctx, s, p, s.name(StagePending, p))
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	v := Version{ID: addrID(k.Address()), Stages: []string{StagePending}, Address: k.Address()}
	if fi, err := os.Stat(p); err == nil {
		v.Created = fi.ModTime().UTC()
	}
	return k, v, nil
}

func (s *localStore) readPrevious(ctx context.Context) (PrivateKey, Version, error) {
	p := s.stagePath(StagePrevious)
	ok, err := exists(p)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	if !ok {
		return PrivateKey{}, Version{}, s.missing(StagePrevious, p)
	}
	k, err := s.codec.load(ctx, s, p, s.name(StagePrevious, p))
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	v := Version{ID: addrID(k.Address()), Stages: []string{StagePrevious}, Address: k.Address()}
	if fi, err := os.Stat(p); err == nil {
		v.Created = fi.ModTime().UTC()
	}
	return k, v, nil
}

func (s *localStore) WritePending(ctx context.Context, key PrivateKey) (Version, error) {
	if key.IsZero() {
		return Version{}, errs.Usagef("no key to write to %s", s.ref.Shown())
	}
	if err := s.recover(); err != nil {
		return Version{}, err
	}
	// A pending key blocks a new one even without a current file: that is a
	// promote that stopped half-way, and running it again finishes it.
	pend := s.stagePath(StagePending)
	if ok, err := exists(pend); err != nil {
		return Version{}, err
	} else if ok {
		return Version{}, pendingExists(s.ref, s.version(ctx, StagePending, pend))
	}
	hasCurrent, err := exists(s.stagePath(StageCurrent))
	if err != nil {
		return Version{}, err
	}
	if hasCurrent {
		if err := s.holdsKey(ctx); err != nil {
			return Version{}, err
		}
	}
	stage := StagePending
	if !hasCurrent {
		stage = StageCurrent
	}
	data, err := s.codec.encode(ctx, s, key, !hasCurrent)
	if err != nil {
		return Version{}, err
	}
	defer clear(data)
	path := s.stagePath(stage)
	if err := writeExclusive(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if stage == StagePending {
				return Version{}, pendingExists(s.ref, s.version(ctx, StagePending, path))
			}
			return Version{}, errs.Failedf("another writer created %s while this key was being written; nothing was written", redact.Mask(path))
		}
		var e *errs.Error
		if hint := s.ref.absoluteHint(); hint != "" && errors.As(err, &e) && e.Kind == errs.Usage {
			// file://tmp/k.hex: a typo for file:///tmp/k.hex far more often than a
			// key meant for ./tmp — "create the directory" would make it so.
			return Version{}, e.WithFix(hint)
		}
		return Version{}, err
	}
	return Version{ID: addrID(key.Address()), Stages: []string{stage}, Created: time.Now().UTC(), Address: key.Address()}, nil
}

// holdsKey checks, before a new key is written beside it, that the store's current
// file is a key file of its kind: a reference that names some other file (a config
// file, a log) is bad input, and nothing is written next to it.
func (s *localStore) holdsKey(ctx context.Context) error {
	cur := s.stagePath(StageCurrent)
	name := s.name(StageCurrent, cur)
	var err error
	if _, hex := s.codec.(hexFileCodec); hex {
		err = hexFileHoldsKey(cur, name)
	}
	if err == nil {
		_, err = s.codec.address(ctx, s, cur, name)
	}
	if err != nil && errs.KindOf(err) == errs.Usage {
		return errs.Usagef("%s does not hold a %s key, so no new key is written beside it: %v", redact.Mask(cur), s.ref.Scheme, err).
			WithFix("check the path: the reference names the key file itself (a new one is created where none exists)")
	}
	return err
}

// writeExclusive writes data to a temporary file in path's directory and links
// it into place, which fails with fs.ErrExist if path exists: the file is
// either absent or complete, and never replaced.
func writeExclusive(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return errs.Usagef("cannot create a key file in %s: the directory does not exist", redact.Mask(dir)).
			WithFix("create the directory first (mkdir -m 700 " + dir + "), or give a path in an existing one")
	}
	if err != nil {
		return errs.Failedf("cannot create a key file in %s", redact.Mask(dir)).Wrap(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return errs.Failedf("cannot set mode 0600 on %s", redact.Mask(tmp)).Wrap(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return errs.Failedf("cannot write key file %s", redact.Mask(tmp)).Wrap(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return errs.Failedf("cannot flush key file %s", redact.Mask(tmp)).Wrap(err)
	}
	if err := f.Close(); err != nil {
		return errs.Failedf("cannot close key file %s", redact.Mask(tmp)).Wrap(err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return errs.Failedf("cannot create key file %s", redact.Mask(path)).Wrap(err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes renames and links durable; where a platform cannot sync a
// directory the rename is still atomic, only its durability is weaker.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return errs.Failedf("cannot rename key file %s to %s", redact.Mask(from), redact.Mask(to)).Wrap(err)
	}
	syncDir(filepath.Dir(to))
	return nil
}

// retire moves a key file out of the stages without deleting it.
func (s *localStore) retire(ctx context.Context, stage string) error {
	p := s.stagePath(stage)
	a, err := s.codec.address(ctx, s, p, s.name(stage, p))
	if err != nil {
		return rename(p, fmt.Sprintf("%s.retired-unreadable-%d", s.ref.Path, time.Now().UnixNano()))
	}
	return rename(p, s.retiredPath(a))
}

func (s *localStore) Promote(ctx context.Context, versionID string) error {
	if err := s.recover(); err != nil {
		return err
	}
	stage, _, err := s.find(ctx, versionID)
	if err != nil {
		return err
	}
	switch stage {
	case StageCurrent:
		return nil
	case StagePending:
	default:
		st := []string{}
		if stage != "" {
			st = append(st, stage)
		}
		return notPending(s.ref, versionID, st)
	}
	cur, pend, prev := s.stagePath(StageCurrent), s.stagePath(StagePending), s.stagePath(StagePrevious)
	if ok, err := exists(cur); err != nil {
		return err
	} else if !ok {
		// An earlier promote (of an older vrwxctl) stopped after moving current to
		// previous.
		return rename(pend, cur)
	}
	// PATH always holds a key, for the API and for every reader: the current key
	// is hard-linked as previous, then the pending key renamed over PATH (an atomic
	// replace). A promote stopped between the two left previous = current, which
	// running it again recognises.
	if ok, err := exists(prev); err != nil {
		return err
	} else if ok {
		if same, err := sameFile(prev, cur); err != nil || !same {
			if err := s.retire(ctx, StagePrevious); err != nil {
				return err
			}
		}
	}
	if ok, err := exists(prev); err != nil {
		return err
	} else if !ok {
		if err := os.Link(cur, prev); err != nil {
			return errs.Failedf("cannot keep key file %s as %s", cur, prev).Wrap(err)
		}
		syncDir(filepath.Dir(prev))
	}
	return rename(pend, cur)
}

func (s *localStore) Rollback(ctx context.Context) error {
	if err := s.recover(); err != nil {
		return err
	}
	cur, prev, tmp := s.stagePath(StageCurrent), s.stagePath(StagePrevious), s.rollbackPath()
	if ok, err := exists(prev); err != nil {
		return err
	} else if !ok {
		return errs.Failedf("%s has no previous key to roll back to (no file %s)", s.ref.Shown(), redact.Mask(prev))
	}
	if ok, err := exists(cur); err != nil {
		return err
	} else if !ok {
		return rename(prev, cur)
	}
	// As in Promote, PATH always holds a key: the current key is hard-linked aside,
	// previous renamed over PATH, and the one set aside becomes previous.
	if err := os.Link(cur, tmp); err != nil {
		return errs.Failedf("cannot keep key file %s as %s", cur, tmp).Wrap(err)
	}
	if err := rename(prev, cur); err != nil {
		return err
	}
	return rename(tmp, prev)
}

// recover finishes a rollback that was interrupted between its steps.
func (s *localStore) recover() error {
	cur, prev, tmp := s.stagePath(StageCurrent), s.stagePath(StagePrevious), s.rollbackPath()
	ok, err := exists(tmp)
	if err != nil || !ok {
		return err
	}
	hasCur, err := exists(cur)
	if err != nil {
		return err
	}
	hasPrev, err := exists(prev)
	if err != nil {
		return err
	}
	if hasCur && hasPrev {
		// Stopped right after the current key was linked aside: nothing moved yet.
		if same, err := sameFile(tmp, cur); err == nil && same {
			if err := os.Remove(tmp); err != nil {
				return errs.Failedf("cannot remove %s", tmp).Wrap(err)
			}
			syncDir(filepath.Dir(tmp))
			return nil
		}
		return errs.Failedf("found %s next to both a current and a previous key file; an interrupted rollback left it and vrwxctl cannot tell where it belongs", redact.Mask(tmp)).
			WithFix("inspect the three files with `vrwxctl key versions` and rename " + tmp + " by hand")
	}
	if !hasCur && hasPrev {
		// An older vrwxctl's rollback: stopped after moving current aside.
		if err := rename(prev, cur); err != nil {
			return err
		}
	}
	return rename(tmp, prev)
}

// sameFile reports whether a and b are one file (hard links).
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func (s *localStore) DiscardPending(ctx context.Context) error {
	p := s.stagePath(StagePending)
	if ok, err := exists(p); err != nil {
		return err
	} else if !ok {
		return s.missing(StagePending, p)
	}
	v := s.version(ctx, StagePending, p)
	if err := s.retire(ctx, StagePending); err != nil {
		return err
	}
	// A rotation's claim on the discarded key goes with it.
	if l, err := s.readLock(); err == nil && l != nil && (l.Version == "" || l.Version == v.ID) {
		return s.ReleaseClaim(ctx, l.ID)
	}
	return nil
}

func (s *localStore) Versions(ctx context.Context) ([]Version, error) {
	var out []Version
	for _, st := range []string{StageCurrent, StagePending, StagePrevious} {
		p := s.stagePath(st)
		if ok, err := exists(p); err != nil {
			return nil, err
		} else if ok {
			out = append(out, s.version(ctx, st, p))
		}
	}
	retired, err := filepath.Glob(globEscape(s.ref.Path) + ".retired-*")
	if err != nil {
		return nil, errs.Failedf("cannot list retired key files of %s", s.ref.Shown()).Wrap(err)
	}
	for _, p := range retired {
		out = append(out, s.version(ctx, "", p))
	}
	slices.SortStableFunc(out, func(a, b Version) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func globEscape(p string) string {
	if runtime.GOOS == "windows" {
		return strings.NewReplacer(`*`, `[*]`, `?`, `[?]`, `[`, `[[]`).Replace(p)
	}
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}
