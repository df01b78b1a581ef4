package secrets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/hashicorp/vault/api"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Custom-metadata keys in which vrwxctl records the stages of a Vault secret
// (see "Vault KV v2" in the package documentation).
const (
	VaultMarkCurrent  = "vrwxctl_current"
	VaultMarkPending  = "vrwxctl_pending"
	VaultMarkPrevious = "vrwxctl_previous"
)

// vaultStore keeps the key in a Vault KV v2 secret; see "Vault KV v2" in the
// package documentation for how stages are recorded.
type vaultStore struct {
	ref  Ref
	opts Options

	once      sync.Once
	client    *api.Client
	clientErr error
}

func newVaultStore(r Ref, opts Options) *vaultStore { return &vaultStore{ref: r, opts: opts} }

func (s *vaultStore) Ref() Ref { return s.ref }

func (s *vaultStore) api(ctx context.Context) (*api.Client, error) {
	s.once.Do(func() {
		cfg := api.DefaultConfig()
		if cfg.Error != nil {
			s.clientErr = errs.Usagef("cannot configure the Vault client for %s from the VAULT_* environment", s.ref.Shown()).Wrap(cfg.Error)
			return
		}
		if s.opts.VaultAddr != "" {
			cfg.Address = s.opts.VaultAddr
		}
		if s.opts.HTTPClient != nil {
			cfg.HttpClient = s.opts.HTTPClient
		}
		c, err := api.NewClient(cfg)
		if err != nil {
			s.clientErr = errs.Usagef("cannot create a Vault client for %s at %s", s.ref.Shown(), cfg.Address).Wrap(err)
			return
		}
		if c.Token() == "" {
			if s.clientErr = s.appRoleLogin(ctx, c); s.clientErr != nil {
				return
			}
		}
		s.client = c
	})
	return s.client, s.clientErr
}

func (s *vaultStore) appRoleLogin(ctx context.Context, c *api.Client) error {
	roleID, _ := s.opts.lookupEnv("VAULT_ROLE_ID")
	secretID, _ := s.opts.lookupEnv("VAULT_SECRET_ID")
	if roleID == "" || secretID == "" {
		return errs.Usagef("no Vault credentials for %s: VAULT_TOKEN is not set, nor are VAULT_ROLE_ID and VAULT_SECRET_ID", s.ref.Shown()).
			WithFix("export VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole login")
	}
	sec, err := c.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) {
			return errs.Failedf("Vault AppRole login at %s failed for %s (HTTP %d)", c.Address(), s.ref.Shown(), re.StatusCode).
				WithFix("check VAULT_ROLE_ID and VAULT_SECRET_ID (secret IDs expire and can be single-use)")
		}
		return errs.Failedf("cannot reach Vault at %s to log in for %s", c.Address(), s.ref.Shown()).Wrap(redact.Error(err)).WithFix("check VAULT_ADDR")
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return errs.Failedf("Vault AppRole login at %s returned no token for %s", c.Address(), s.ref.Shown())
	}
	c.SetToken(sec.Auth.ClientToken)
	return nil
}

// apiErr turns a Vault client error into an error kind naming the operation and
// the reference. Of what the server answered only the HTTP status is shown (Vault
// has no error codes; see storeerr.go): its error list may be a proxy's echo of
// the request — the key being written — and the client puts a body it cannot
// parse there whole.
func (s *vaultStore) apiErr(op string, err error) error {
	err = redact.Error(err)
	if k := errs.KindOf(err); k == errs.Timeout {
		return err
	}
	addr := ""
	if s.client != nil {
		addr = s.client.Address()
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == 403:
			return errs.Failedf("Vault at %s denied %s on %s (HTTP 403)", addr, op, s.ref.Shown()).
				WithFix(fmt.Sprintf("set VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) to credentials whose policy allows %s on %s/data/%s and %s/metadata/%s",
					op, s.ref.Mount, s.ref.Path, s.ref.Mount, s.ref.Path))
		case re.StatusCode == 400 && !re.RawError && casMismatch(re.Errors):
			return errs.Failedf("%s changed while vrwxctl was writing it: another writer created a new version first (Vault's check-and-set failed, HTTP 400); nothing was written", s.ref.Shown()).
				WithFix("see `vrwxctl key versions --store " + s.ref.Shown() + "`, then run again if still needed")
		case re.StatusCode == 404:
			return errs.Failedf("Vault at %s: %s not found (%s, HTTP 404)", addr, s.ref.Shown(), op).
				WithFix("check the mount (first path segment) and the path")
		}
		return errs.Failedf("Vault %s on %s failed (HTTP %d)", op, s.ref.Shown(), re.StatusCode)
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return errs.Failedf("%s not found in Vault at %s", s.ref.Shown(), addr).
			WithFix("check the mount (first path segment), the path and VAULT_NAMESPACE")
	}
	return errs.Failedf("Vault %s on %s at %s failed", op, s.ref.Shown(), addr).Wrap(err).WithFix("check VAULT_ADDR and network access to Vault")
}

// vaultMarks are the stage markers of a secret; 0 = no version has the stage.
type vaultMarks struct {
	managed                    bool
	current, pending, previous int
}

func readMarks(cm map[string]any) vaultMarks {
	num := func(k string) (int, bool) {
		s, ok := cm[k].(string)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, false
		}
		return n, true
	}
	var m vaultMarks
	m.current, m.managed = num(VaultMarkCurrent)
	m.pending, _ = num(VaultMarkPending)
	m.previous, _ = num(VaultMarkPrevious)
	return m
}

// effectiveCurrent is the current version: the marker, else the latest.
func (m vaultMarks) effectiveCurrent(latest int) int {
	if m.managed {
		return m.current
	}
	return latest
}

func (m vaultMarks) stagesOf(n, latest int) []string {
	var out []string
	if n != 0 && n == m.effectiveCurrent(latest) {
		out = append(out, StageCurrent)
	}
	if n != 0 && n == m.pending {
		out = append(out, StagePending)
	}
	if n != 0 && n == m.previous {
		out = append(out, StagePrevious)
	}
	return out
}

// writeMarks sets the stage markers m names (a zero mark is left as it is), the
// keys in set, and removes the keys in drop: a JSON merge patch of custom_metadata (PATCH metadata, Vault 1.9+), so
// every other key — another writer's included — stays as it is, and max_versions,
// cas_required and delete_version_after keep their values. Two writers patching
// different keys at once both keep theirs; a full write of custom_metadata would
// let the later one erase the earlier one's.
func (s *vaultStore) writeMarks(ctx context.Context, c *api.Client, m vaultMarks, set map[string]string, drop ...string) error {
	cm := map[string]any{}
	for k, n := range map[string]int{VaultMarkCurrent: m.current, VaultMarkPending: m.pending, VaultMarkPrevious: m.previous} {
		if n != 0 {
			cm[k] = strconv.Itoa(n)
		}
	}
	for k, v := range set {
		cm[k] = v
	}
	for _, k := range drop {
		cm[k] = nil
	}
	if _, err := c.Logical().JSONMergePatch(ctx, s.ref.Mount+"/metadata/"+s.ref.Path, map[string]any{"custom_metadata": cm}); err != nil {
		return s.apiErr("patch metadata", err)
	}
	return nil
}

// clientMetadata is the client and the secret's metadata, which every change reads
// its markers from first.
func (s *vaultStore) clientMetadata(ctx context.Context) (*api.Client, *api.KVMetadata, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, nil, err
	}
	md, err := s.metadata(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return c, md, nil
}

func (s *vaultStore) metadata(ctx context.Context, c *api.Client) (*api.KVMetadata, error) {
	md, err := c.KVv2(s.ref.Mount).GetMetadata(ctx, s.ref.Path)
	if err != nil {
		return nil, s.apiErr("read metadata", err)
	}
	return md, nil
}

// keyOf extracts the key from one version's data.
func (s *vaultStore) keyOf(sec *api.KVSecret, n int) (PrivateKey, error) {
	at := where(s.ref, strconv.Itoa(n))
	if sec.Data == nil {
		return PrivateKey{}, errs.Failedf("%s is deleted or destroyed in Vault", at)
	}
	expected := fmt.Sprintf("expected the field %s to hold 0x<64 hex digits>", redact.Quote(s.ref.Field))
	raw, ok := sec.Data[s.ref.Field]
	if !ok {
		names := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			names = append(names, k)
		}
		sort.Strings(names)
		have := "no fields"
		if len(names) > 0 {
			have = "fields " + strings.Join(names, ", ")
		}
		return PrivateKey{}, errs.Usagef("%s has no field %s (it has %s); %s", at, redact.Quote(s.ref.Field), have, expected).
			WithFix("name the field holding the key with #FIELD at the end of the reference")
	}
	v, ok := raw.(string)
	if !ok {
		return PrivateKey{}, errs.Usagef("field %s of %s is not a string; %s", redact.Quote(s.ref.Field), at, expected)
	}
	return parseHexKey(at, v)
}

func versionOfMeta(n int, vm *api.KVVersionMetadata, m vaultMarks, latest int) Version {
	v := Version{ID: strconv.Itoa(n), Stages: m.stagesOf(n, latest)}
	if vm != nil {
		v.Created = vm.CreatedTime
	}
	return v
}

// readVersion reads version n (0 = latest) and its key.
func (s *vaultStore) readVersion(ctx context.Context, c *api.Client, n int) (*api.KVSecret, error) {
	kv := c.KVv2(s.ref.Mount)
	var sec *api.KVSecret
	var err error
	if n == 0 {
		sec, err = kv.Get(ctx, s.ref.Path)
	} else {
		sec, err = kv.GetVersion(ctx, s.ref.Path, n)
	}
	if err != nil {
		if errors.Is(err, api.ErrSecretNotFound) {
			if n == 0 {
				// The reference names no secret: bad input.
				return nil, errs.Usagef("%s not found in Vault at %s", s.ref.Shown(), c.Address()).
					WithFix("check the mount (first path segment), the path and VAULT_NAMESPACE")
			}
			return nil, errs.Failedf("%s not found in Vault at %s", where(s.ref, strconv.Itoa(n)), c.Address())
		}
		return nil, s.apiErr("read", err)
	}
	if sec.VersionMetadata == nil {
		return nil, errs.Failedf("Vault returned no version metadata for %s", s.ref.Shown())
	}
	return sec, nil
}

func (s *vaultStore) Read(ctx context.Context, versionID string) (PrivateKey, Version, error) {
	c, err := s.api(ctx)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	if versionID != "" {
		n, err := strconv.Atoi(versionID)
		if err != nil || n <= 0 {
			return PrivateKey{}, Version{}, errs.Failedf("%s has no version %q; Vault versions are numbers 1, 2, …", s.ref.Shown(), redactRef(versionID))
		}
		md, err := s.metadata(ctx, c)
		if err != nil {
			return PrivateKey{}, Version{}, err
		}
		sec, err := s.readVersion(ctx, c, n)
		if err != nil {
			return PrivateKey{}, Version{}, err
		}
		k, err := s.keyOf(sec, n)
		if err != nil {
			return PrivateKey{}, Version{}, err
		}
		v := versionOfMeta(n, sec.VersionMetadata, readMarks(md.CustomMetadata), md.CurrentVersion)
		v.Address = k.Address()
		return k, v, nil
	}
	sec, err := s.readVersion(ctx, c, 0)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	latest := sec.VersionMetadata.Version
	m := readMarks(sec.CustomMetadata)
	n := m.effectiveCurrent(latest)
	if n == 0 {
		return PrivateKey{}, Version{}, errs.Failedf("%s has no current version (custom_metadata %s is unset)", s.ref.Shown(), VaultMarkCurrent)
	}
	if n != latest {
		if sec, err = s.readVersion(ctx, c, n); err != nil {
			return PrivateKey{}, Version{}, err
		}
	}
	k, err := s.keyOf(sec, n)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	v := versionOfMeta(n, sec.VersionMetadata, m, latest)
	v.Address = k.Address()
	return k, v, nil
}

func (s *vaultStore) ReadPending(ctx context.Context) (PrivateKey, Version, error) {
	c, md, err := s.clientMetadata(ctx)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	m := readMarks(md.CustomMetadata)
	if m.pending == 0 {
		return PrivateKey{}, Version{}, errs.Failedf("%s has no pending version (custom_metadata %s is unset)", s.ref.Shown(), VaultMarkPending)
	}
	sec, err := s.readVersion(ctx, c, m.pending)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	k, err := s.keyOf(sec, m.pending)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	v := versionOfMeta(m.pending, sec.VersionMetadata, m, md.CurrentVersion)
	v.Address = k.Address()
	return k, v, nil
}

func (s *vaultStore) readPrevious(ctx context.Context) (PrivateKey, Version, error) {
	_, md, err := s.clientMetadata(ctx)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	m := readMarks(md.CustomMetadata)
	if m.previous == 0 {
		return PrivateKey{}, Version{}, errs.Failedf("%s has no previous version (custom_metadata %s is unset)", s.ref.Shown(), VaultMarkPrevious)
	}
	return s.Read(ctx, strconv.Itoa(m.previous))
}

func (s *vaultStore) WritePending(ctx context.Context, key PrivateKey) (Version, error) {
	if key.IsZero() {
		return Version{}, errs.Usagef("no key to write to %s", s.ref.Shown())
	}
	c, err := s.api(ctx)
	if err != nil {
		return Version{}, err
	}
	kv := c.KVv2(s.ref.Mount)
	md, err := kv.GetMetadata(ctx, s.ref.Path)
	if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
		return Version{}, s.apiErr("read metadata", err)
	}
	if md == nil || md.CurrentVersion == 0 {
		// A new secret (or metadata without versions): its first version is current.
		sec, err := kv.Put(ctx, s.ref.Path, map[string]any{s.ref.Field: key.hexEncode()}, api.WithCheckAndSet(0))
		if err != nil {
			return Version{}, s.apiErr("write", err)
		}
		n := sec.VersionMetadata.Version
		if err := s.writeMarks(ctx, c, vaultMarks{managed: true, current: n}, nil); err != nil {
			return Version{}, err
		}
		return Version{ID: strconv.Itoa(n), Stages: []string{StageCurrent}, Created: sec.VersionMetadata.CreatedTime, Address: key.Address()}, nil
	}
	m := readMarks(md.CustomMetadata)
	if m.pending != 0 {
		v := Version{ID: strconv.Itoa(m.pending), Stages: m.stagesOf(m.pending, md.CurrentVersion), Address: s.addressOf(ctx, c, m.pending)}
		return Version{}, pendingExists(s.ref, v)
	}
	m, data, err := s.nextVersion(ctx, c, m, m.effectiveCurrent(md.CurrentVersion), key)
	if err != nil {
		return Version{}, err
	}
	sec, err := kv.Put(ctx, s.ref.Path, data, api.WithCheckAndSet(md.CurrentVersion))
	if err != nil {
		return Version{}, s.apiErr("write", err)
	}
	return s.markPending(ctx, c, m, sec, key, nil)
}

// nextVersion is the data of a new version of the secret over its current version
// cur: cur's other fields carried over, the key in the reference's field. A secret
// vrwxctl has not written before gets its markers first (cur current), so that the
// new version is not taken for the current one; m is the markers then.
func (s *vaultStore) nextVersion(ctx context.Context, c *api.Client, m vaultMarks, cur int, key PrivateKey) (vaultMarks, map[string]any, error) {
	if !m.managed {
		m = vaultMarks{managed: true, current: cur}
		if err := s.writeMarks(ctx, c, m, nil); err != nil {
			return m, nil, err
		}
	}
	data := map[string]any{}
	if cur != 0 {
		sec, err := c.KVv2(s.ref.Mount).GetVersion(ctx, s.ref.Path, cur)
		if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
			return m, nil, s.apiErr("read", err)
		}
		if sec != nil {
			maps.Copy(data, sec.Data)
		}
	}
	data[s.ref.Field] = key.hexEncode()
	return m, data, nil
}

// markPending marks sec, the version nextVersion's data was just written as (m the
// markers nextVersion returned), pending, with the keys in set. It re-reads the
// metadata first so that custom_metadata written since the first read is kept.
func (s *vaultStore) markPending(ctx context.Context, c *api.Client, m vaultMarks, sec *api.KVSecret, key PrivateKey, set map[string]string) (Version, error) {
	n := sec.VersionMetadata.Version
	md, err := s.metadata(ctx, c)
	if err != nil {
		return Version{}, err
	}
	m2 := readMarks(md.CustomMetadata)
	if !m2.managed {
		m2 = m
	}
	m2.pending = n
	if err := s.writeMarks(ctx, c, m2, set); err != nil {
		return Version{}, err
	}
	return Version{ID: strconv.Itoa(n), Stages: []string{StagePending}, Created: sec.VersionMetadata.CreatedTime, Address: key.Address()}, nil
}

// addressOf is the address of the key version n holds; zero when it cannot be read.
func (s *vaultStore) addressOf(ctx context.Context, c *api.Client, n int) common.Address {
	sec, err := s.readVersion(ctx, c, n)
	if err != nil {
		return common.Address{}
	}
	k, err := s.keyOf(sec, n)
	if err != nil {
		return common.Address{}
	}
	return k.Address()
}

// usable reports why version n cannot be made current, or "" if it can.
func usable(md *api.KVMetadata, n int) string {
	vm, ok := md.Versions[strconv.Itoa(n)]
	switch {
	case !ok:
		return "does not exist (or was pruned by max_versions)"
	case vm.Destroyed:
		return "is destroyed"
	case !vm.DeletionTime.IsZero() && vm.DeletionTime.Before(time.Now()):
		return "is deleted"
	}
	return ""
}

func (s *vaultStore) Promote(ctx context.Context, versionID string) error {
	return s.promote(ctx, versionID, "")
}

// promote makes versionID current; when from is not "", provided from (or
// versionID itself) is current, judged on the same read of the metadata.
func (s *vaultStore) promote(ctx context.Context, versionID, from string) error {
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(versionID)
	if err != nil || n <= 0 {
		return errs.Failedf("%s has no version %q; Vault versions are numbers 1, 2, …", s.ref.Shown(), redactRef(versionID))
	}
	md, err := s.metadata(ctx, c)
	if err != nil {
		return err
	}
	m := readMarks(md.CustomMetadata)
	cur := m.effectiveCurrent(md.CurrentVersion)
	if from != "" && strconv.Itoa(cur) != from && strconv.Itoa(cur) != versionID {
		return changedSince(s.ref, strconv.Itoa(cur), from, nil)
	}
	if n == cur {
		if m.pending == n {
			return s.writeMarks(ctx, c, vaultMarks{managed: true, current: cur}, nil, VaultMarkPending)
		}
		return nil
	}
	if m.pending != n {
		return notPending(s.ref, versionID, m.stagesOf(n, md.CurrentVersion))
	}
	if why := usable(md, n); why != "" {
		return errs.Failedf("cannot promote %s: the version %s", where(s.ref, versionID), why)
	}
	return s.writeMarks(ctx, c, vaultMarks{managed: true, current: n, previous: cur}, nil, VaultMarkPending)
}

func (s *vaultStore) Rollback(ctx context.Context) error {
	c, md, err := s.clientMetadata(ctx)
	if err != nil {
		return err
	}
	m := readMarks(md.CustomMetadata)
	if m.previous == 0 {
		return errs.Failedf("%s has no previous version to roll back to (custom_metadata %s is unset)", s.ref.Shown(), VaultMarkPrevious)
	}
	if why := usable(md, m.previous); why != "" {
		return errs.Failedf("cannot roll back %s: the previous version %d %s", s.ref.Shown(), m.previous, why)
	}
	cur := m.effectiveCurrent(md.CurrentVersion)
	m.managed, m.current, m.previous = true, m.previous, cur
	return s.writeMarks(ctx, c, m, nil)
}

func (s *vaultStore) DiscardPending(ctx context.Context) error {
	c, md, err := s.clientMetadata(ctx)
	if err != nil {
		return err
	}
	m := readMarks(md.CustomMetadata)
	target := m.pending
	if target == 0 {
		target = unrecorded(md, m)
	}
	if target == 0 {
		return errs.Failedf("%s has no pending version (custom_metadata %s is unset)", s.ref.Shown(), VaultMarkPending)
	}
	m.pending = 0
	var drop []string
	if line, ok := md.CustomMetadata[VaultMarkRotation].(string); ok {
		if _, v, ok := decodeRotation(line); ok && v == strconv.Itoa(target) {
			drop = append(drop, VaultMarkRotation)
		}
	}
	return s.writeMarks(ctx, c, m, map[string]string{VaultMarkDiscarded: strconv.Itoa(target)}, append(drop, VaultMarkPending)...)
}

func (s *vaultStore) Versions(ctx context.Context) ([]Version, error) {
	c, md, err := s.clientMetadata(ctx)
	if err != nil {
		return nil, err
	}
	m := readMarks(md.CustomMetadata)
	nums := make([]int, 0, len(md.Versions))
	for k := range md.Versions {
		if n, err := strconv.Atoi(k); err == nil {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := make([]Version, 0, len(nums))
	for _, n := range nums {
		vm := md.Versions[strconv.Itoa(n)]
		v := versionOfMeta(n, &vm, m, md.CurrentVersion)
		if why := usable(md, n); why != "" {
			v.Problem = "the version " + why
			out = append(out, v)
			continue
		}
		sec, err := s.readVersion(ctx, c, n)
		if err != nil {
			return nil, err
		}
		k, err := s.keyOf(sec, n)
		if err != nil {
			if errs.KindOf(err) != errs.Usage {
				return nil, err
			}
			v.Problem = err.Error()
		} else {
			v.Address = k.Address()
		}
		out = append(out, v)
	}
	return out, nil
}

// casMismatch reports whether Vault's error list is its check-and-set refusal. KV
// v2 says so only in words; the words are read here and never shown.
func casMismatch(errors []string) bool {
	for _, e := range errors {
		if strings.Contains(e, "check-and-set parameter did not match") {
			return true
		}
	}
	return false
}
