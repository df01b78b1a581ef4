package secrets

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Stage names, the same for every provider. AWS's AWSCURRENT, AWSPENDING and
// AWSPREVIOUS map to these; other AWS staging labels are reported verbatim.
const (
	StageCurrent  = "current"
	StagePending  = "pending"
	StagePrevious = "previous"
)

// Version describes one stored version of a key. It never holds the key, so it
// is safe to print and to marshal (the JSON shape is stable).
type Version struct {
	// ID names the version for Read and Promote: the AWS VersionId, the Vault
	// version number, the address (0x…) of the key in a local file, or
	// "current" for env.
	ID string `json:"id"`
	// Stages the version carries (StageCurrent, StagePending, StagePrevious, or
	// a provider's own label); empty for a version kept only as history.
	Stages []string `json:"stages"`
	// Created is when the version was written; zero when the store does not say.
	Created time.Time `json:"created,omitzero"`
	// Address is the address of the key the version holds; zero when it could
	// not be read, and then Problem says why (never with key material).
	Address common.Address `json:"address"`
	Problem string         `json:"problem,omitempty"`
}

// Has reports whether v carries stage.
func (v Version) Has(stage string) bool { return slices.Contains(v.Stages, stage) }

// Store is one secret that holds a key, with the versioned operations key
// rotation is built on. Every method that changes the store is safe to repeat
// after an interruption (the names of versions are stable, see Version.ID).
type Store interface {
	// Ref is the reference the store was opened with.
	Ref() Ref
	// Read returns the key of a version ("" = the current one) and its version.
	// A reference to nothing (no such secret, file or variable) is errs.Usage; a
	// missing version of an existing secret is errs.Failed; a value that is not a
	// valid key is errs.Usage naming the reference.
	Read(ctx context.Context, versionID string) (PrivateKey, Version, error)
	// ReadPending returns the pending key, or errs.Failed when there is none.
	ReadPending(ctx context.Context) (PrivateKey, Version, error)
	// WritePending stores key as a new version. When the store already has a
	// current key the new version is pending, not current, until Promote. When
	// the store holds no key yet (a new secret), the new version is current at
	// once — AWS itself labels a secret's first version AWSCURRENT — and the
	// returned Version says so. A store that already has a pending version
	// refuses (errs.Refused): finish or discard that rotation first. Read-only
	// stores return errs.Usage.
	WritePending(ctx context.Context, key PrivateKey) (Version, error)
	// Promote makes the pending version versionID current; the old current
	// becomes previous. Promoting the version that is already current is a
	// no-op, so a resumed rotation can repeat it. A version that is neither
	// pending nor current is errs.Usage.
	Promote(ctx context.Context, versionID string) error
	// Rollback makes the previous version current again; the version that was
	// current becomes previous (AWS's own behaviour when AWSCURRENT moves).
	// Without a previous version it is errs.Failed.
	Rollback(ctx context.Context) error
	// DiscardPending drops the pending mark; the version stays in the store's
	// history (nothing holding a key is ever deleted). errs.Failed without one.
	DiscardPending(ctx context.Context) error
	// Versions lists the versions, oldest first, with the address each holds.
	Versions(ctx context.Context) ([]Version, error)
}

// Options configures how stores reach their backends. The zero value uses the
// environment the way the services' own CLIs do.
type Options struct {
	// AWSRegion is used when the reference has no ?region=; "" leaves the region
	// to the SDK's chain (AWS_REGION, AWS_DEFAULT_REGION, the profile).
	AWSRegion string
	// AWSEndpoint overrides the Secrets Manager endpoint; "" leaves it to the SDK,
	// which reads AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL and the
	// shared config file's endpoint_url settings.
	AWSEndpoint string
	// VaultAddr overrides VAULT_ADDR.
	VaultAddr string
	// HTTPClient is used by the AWS and Vault clients; nil = their defaults.
	HTTPClient *http.Client
	// Prompt asks for a keystore password without echo. nil = prompt on the
	// terminal when stdin is one, else fail.
	Prompt func(ctx context.Context, prompt string) (string, error)
	// ScryptN and ScryptP set the cost of keystore files this package writes;
	// zero = go-ethereum's standard parameters.
	ScryptN, ScryptP int
	// LookupEnv reads env:// variables, keystore password-env variables and
	// VAULT_ROLE_ID / VAULT_SECRET_ID; nil is an empty environment (the binary
	// passes os.LookupEnv). The AWS and Vault SDKs read their own configuration
	// (AWS_*, VAULT_ADDR, VAULT_TOKEN, ...) from the process environment, as their
	// CLIs do.
	LookupEnv func(string) (string, bool)
}

func (o Options) lookupEnv(k string) (string, bool) {
	if o.LookupEnv == nil {
		return "", false
	}
	return o.LookupEnv(k)
}

// Open parses ref and returns its store. Nothing is read and no SDK client is
// built until a method needs it, so opening is cheap for every scheme.
func Open(ctx context.Context, ref string, opts Options) (Store, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return OpenRef(ctx, r, opts)
}

// OpenRef is Open for a parsed reference. A reference with ?stage= or ?version=
// opens the store with Read("") reading that version (see VersionedStore).
func OpenRef(ctx context.Context, r Ref, opts Options) (Store, error) {
	if r.Versioned() {
		base, err := OpenRef(ctx, r.Base(), opts)
		if err != nil {
			return nil, err
		}
		return &versionedStore{ref: r, base: base}, nil
	}
	switch r.Scheme {
	case SchemeAWS:
		return newAWSStore(r, opts), nil
	case SchemeVault:
		return newVaultStore(r, opts), nil
	case SchemeKeystore:
		return newLocalStore(r, opts, keystoreCodec{}), nil
	case SchemeFile:
		return newLocalStore(r, opts, hexFileCodec{}), nil
	case SchemeEnv:
		return envStore{ref: r, opts: opts}, nil
	}
	return nil, errs.Usagef("signer reference %s has unknown scheme %s; expected one of %s", redact.Quote(r.String()), redact.Quote(r.Scheme), RefForms)
}

// ReadKey is the common case: the current key behind ref.
func ReadKey(ctx context.Context, ref string, opts Options) (PrivateKey, error) {
	s, err := Open(ctx, ref, opts)
	if err != nil {
		return PrivateKey{}, err
	}
	k, _, err := s.Read(ctx, "")
	return k, err
}

func readOnly(r Ref) error {
	return errs.Usagef("%s:// references are read-only; %s cannot store a new key", r.Scheme, r.String()).
		WithFix("write new keys to a writable store (aws-sm://, vault://, keystore:// or file://) and point the profile at it")
}

func pendingExists(r Ref, v Version) error {
	return errs.Refusedf("%s already has a pending key (version %s, address %s); a second rotation would overwrite it", r.String(), v.ID, v.Address.Hex()).
		WithFix("promote or discard the pending version first (see `vrwxctl key versions`)")
}

func notPending(r Ref, id string, stages []string) error {
	return errs.Usagef("version %s of %s is not pending (stages: %s); only the pending version can be promoted", id, r.String(), stagesText(stages))
}

func stagesText(stages []string) string {
	if len(stages) == 0 {
		return "none"
	}
	return strings.Join(stages, ", ")
}

// where names a value in error messages: the reference, and the version when a
// specific one was asked for.
func where(r Ref, versionID string) string {
	if versionID == "" {
		return r.String()
	}
	return r.String() + " (version " + versionID + ")"
}
