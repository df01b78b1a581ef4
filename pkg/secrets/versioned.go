package secrets

import (
	"context"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// previousReader reads the version with the previous stage in one step, the way
// each backend names it (AWSPREVIOUS, the vrwxctl_previous marker, PATH.previous).
type previousReader interface {
	readPrevious(ctx context.Context) (PrivateKey, Version, error)
}

// versionedStore is a store opened through a reference that names one version
// (?stage= or ?version=). Reading "" reads that version, so every command that
// takes a signer reference can sign with a previous or pending key; writing
// through it is refused, because a version reference names a key to use, not
// the secret to change.
type versionedStore struct {
	ref  Ref
	base Store
}

func (s *versionedStore) Ref() Ref { return s.ref }

func (s *versionedStore) Read(ctx context.Context, versionID string) (PrivateKey, Version, error) {
	if versionID != "" {
		return s.base.Read(ctx, versionID)
	}
	if s.ref.Version != "" {
		return s.base.Read(ctx, s.ref.Version)
	}
	switch s.ref.Stage {
	case StagePending:
		return s.base.ReadPending(ctx)
	case StagePrevious:
		pr, ok := s.base.(previousReader)
		if !ok {
			return PrivateKey{}, Version{}, errs.Failedf("%s has no previous version", s.ref.Shown())
		}
		return pr.readPrevious(ctx)
	}
	return s.base.Read(ctx, "")
}

func (s *versionedStore) ReadPending(ctx context.Context) (PrivateKey, Version, error) {
	return s.base.ReadPending(ctx)
}

func (s *versionedStore) Versions(ctx context.Context) ([]Version, error) {
	return s.base.Versions(ctx)
}

// notTheStore refuses a change through a version reference before anything is
// read or written.
func (s *versionedStore) notTheStore() error {
	return errs.Usagef("%s names one version of a key (?stage= or ?version=); key changes take the store itself", s.ref.Shown()).
		WithFix("use the reference without ?stage= or ?version=: " + s.ref.Base().String())
}

func (s *versionedStore) WritePending(context.Context, PrivateKey) (Version, error) {
	return Version{}, s.notTheStore()
}

func (s *versionedStore) Promote(context.Context, string) error { return s.notTheStore() }

func (s *versionedStore) Rollback(context.Context) error { return s.notTheStore() }

func (s *versionedStore) DiscardPending(context.Context) error { return s.notTheStore() }
