package secrets

import (
	"context"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// envVersionID is the one version an environment variable has.
const envVersionID = "current"

// envStore reads a key from an environment variable: the relayer's own
// RELAYER_PRIVATE_KEY convention. It has one version and cannot be written.
type envStore struct {
	ref  Ref
	opts Options
}

func (s envStore) Ref() Ref { return s.ref }

func (s envStore) Read(_ context.Context, versionID string) (PrivateKey, Version, error) {
	if versionID != "" && versionID != envVersionID {
		return PrivateKey{}, Version{}, errs.Failedf("%s has no version %q; an environment variable has only %q", s.ref.Shown(), versionID, envVersionID)
	}
	v, ok := s.opts.lookupEnv(s.ref.Var)
	if !ok {
		return PrivateKey{}, Version{}, errs.Usagef("environment variable %s is not set (signer reference %s)", s.ref.Var, s.ref.Shown()).
			WithFix("export " + s.ref.Var + " in the environment vrwxctl runs in, or use another signer reference")
	}
	k, err := parseHexKey(s.ref.String(), v)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	return k, Version{ID: envVersionID, Stages: []string{StageCurrent}, Address: k.Address()}, nil
}

func (s envStore) ReadPending(context.Context) (PrivateKey, Version, error) {
	return PrivateKey{}, Version{}, errs.Failedf("%s has no pending version: environment variables hold a single value", s.ref.Shown())
}

func (s envStore) WritePending(context.Context, PrivateKey) (Version, error) {
	return Version{}, readOnly(s.ref)
}

func (s envStore) Promote(context.Context, string) error { return readOnly(s.ref) }

func (s envStore) Rollback(context.Context) error { return readOnly(s.ref) }

func (s envStore) DiscardPending(context.Context) error { return readOnly(s.ref) }

func (s envStore) Versions(ctx context.Context) ([]Version, error) {
	_, v, err := s.Read(ctx, "")
	if err != nil {
		if errs.Is(err, errs.Usage) {
			return []Version{{ID: envVersionID, Stages: []string{StageCurrent}, Problem: err.Error()}}, nil
		}
		return nil, err
	}
	return []Version{v}, nil
}
