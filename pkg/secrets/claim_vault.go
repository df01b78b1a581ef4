package secrets

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// A Vault KV v2 store's claim is the new version's write itself, with
// check-and-set: options.cas is the current_version the rotation read, so of two
// rotations that read the same one exactly one writes (Vault refuses the other's
// cas). The rotation's identity then goes into the secret's custom_metadata, as
// vrwxctl_rotation (the identity line, with the version), next to vrwxctl_pending.
// A version newer than vrwxctl_current and not marked is a claim being recorded
// (or one whose rotation stopped before recording it): it blocks a new rotation as
// a claim does until --discard-pending marks it vrwxctl_discarded.
const (
	VaultMarkRotation  = "vrwxctl_rotation"
	VaultMarkDiscarded = "vrwxctl_discarded"
)

// claimFrom reads the claim in a secret's metadata.
func (s *vaultStore) claimFrom(ctx context.Context, c *api.Client, md *api.KVMetadata) *Claim {
	m := readMarks(md.CustomMetadata)
	read := func(cl *Claim, n int) {
		if vm, ok := md.Versions[strconv.Itoa(n)]; ok {
			cl.Written = vm.CreatedTime
		}
		cl.Address = s.addressOf(ctx, c, n)
	}
	if line, ok := md.CustomMetadata[VaultMarkRotation].(string); ok {
		if r, v, ok := decodeRotation(line); ok {
			cl := &Claim{Rotation: r, Version: v}
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				cl.Current = n == m.effectiveCurrent(md.CurrentVersion)
				read(cl, n)
			}
			return cl
		}
	}
	if m.pending != 0 {
		cl := &Claim{Unidentified: true, Version: strconv.Itoa(m.pending)}
		read(cl, m.pending)
		return cl
	}
	if n := unrecorded(md, m); n != 0 {
		cl := &Claim{Unidentified: true, Unmarked: true, Version: strconv.Itoa(n)}
		read(cl, n)
		return cl
	}
	return nil
}

// unrecorded is the latest version when no marker names it and it was not
// discarded — a claim whose rotation stopped before recording it, or a write by
// hand — else 0.
func unrecorded(md *api.KVMetadata, m vaultMarks) int {
	discarded := 0
	if d, ok := md.CustomMetadata[VaultMarkDiscarded].(string); ok {
		discarded, _ = strconv.Atoi(d)
	}
	if m.managed && md.CurrentVersion > max(m.current, m.previous, discarded) {
		return md.CurrentVersion
	}
	return 0
}

func (s *vaultStore) Claim(ctx context.Context) (*Claim, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	md, err := c.KVv2(s.ref.Mount).GetMetadata(ctx, s.ref.Path)
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.apiErr("read metadata", err)
	}
	return s.claimFrom(ctx, c, md), nil
}

func (s *vaultStore) ClaimPending(ctx context.Context, key PrivateKey, rot Rotation) (Version, error) {
	if key.IsZero() || rot.ID == "" {
		return Version{}, errs.Usagef("no key or rotation to claim %s with", s.ref.Shown())
	}
	c, err := s.api(ctx)
	if err != nil {
		return Version{}, err
	}
	kv := c.KVv2(s.ref.Mount)
	md, err := kv.GetMetadata(ctx, s.ref.Path)
	if errors.Is(err, api.ErrSecretNotFound) || (err == nil && md.CurrentVersion == 0) {
		return Version{}, errs.Usagef("%s does not exist in Vault; a rotation replaces the key a secret holds", s.ref.Shown())
	}
	if err != nil {
		return Version{}, s.apiErr("read metadata", err)
	}
	if h := s.claimFrom(ctx, c, md); h != nil {
		if !h.Unidentified && h.ID == rot.ID && h.Version != "" {
			n, _ := strconv.Atoi(h.Version)
			return Version{ID: h.Version, Stages: readMarks(md.CustomMetadata).stagesOf(n, md.CurrentVersion), Address: h.Address}, nil
		}
		return Version{}, claimed(s.ref, *h)
	}
	m := readMarks(md.CustomMetadata)
	cur := m.effectiveCurrent(md.CurrentVersion)
	// The write below is checked against this read's version (cas): if the current
	// one is the version the rotation planned from now, nobody changed it before
	// the claim.
	if rot.Old != "" && strconv.Itoa(cur) != rot.Old {
		return Version{}, moved(s.ref, rot.Old, strconv.Itoa(cur))
	}
	m, data, err := s.nextVersion(ctx, c, m, cur, key)
	if err != nil {
		return Version{}, err
	}
	// The claim: a write with check-and-set on the version read above.
	sec, err := kv.Put(ctx, s.ref.Path, data, api.WithCheckAndSet(md.CurrentVersion))
	if err != nil {
		// Another writer's version came first: it is the claim now (or will be,
		// once its rotation records itself).
		if md2, rerr := kv.GetMetadata(ctx, s.ref.Path); rerr == nil && md2.CurrentVersion != md.CurrentVersion {
			if h := s.claimFrom(ctx, c, md2); h != nil {
				return Version{}, claimed(s.ref, *h)
			}
			return Version{}, errs.Refusedf("another writer created version %d of %s first (check-and-set on version %d refused this one); nothing was written",
				md2.CurrentVersion, s.ref.Shown(), md.CurrentVersion).Marks(ErrClaimed)
		}
		return Version{}, s.apiErr("write", err)
	}
	return s.markPending(ctx, c, m, sec, key, map[string]string{VaultMarkRotation: rot.encode(strconv.Itoa(sec.VersionMetadata.Version))})
}

func (s *vaultStore) ReleaseClaim(ctx context.Context, id string) error {
	c, md, err := s.clientMetadata(ctx)
	if err != nil {
		return err
	}
	line, ok := md.CustomMetadata[VaultMarkRotation].(string)
	if !ok {
		return nil
	}
	if r, _, ok := decodeRotation(line); ok && r.ID != id {
		return errs.Failedf("%s is claimed by rotation %s, not %s; its claim stays", s.ref.Shown(), r.ID, id)
	}
	return s.writeMarks(ctx, c, vaultMarks{}, nil, VaultMarkRotation)
}

func (s *vaultStore) PromoteFrom(ctx context.Context, versionID, from string) error {
	return s.promote(ctx, versionID, from)
}

// CheckWritable asks Vault what the token may do on the secret's data and metadata
// paths (sys/capabilities-self), without writing.
func (s *vaultStore) CheckWritable(ctx context.Context) error {
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	// A new version is a data write (create, update); the markers are a metadata
	// patch (patch); both are read first.
	for _, need := range []struct {
		path string
		all  []string
	}{
		{s.ref.Mount + "/data/" + s.ref.Path, []string{"read", "create", "update"}},
		{s.ref.Mount + "/metadata/" + s.ref.Path, []string{"read", "patch"}},
	} {
		caps, err := c.Sys().CapabilitiesSelfWithContext(ctx, need.path)
		if err != nil {
			return s.apiErr("sys/capabilities-self", err)
		}
		if slices.Contains(caps, "root") {
			continue
		}
		var missing []string
		for _, want := range need.all {
			if !slices.Contains(caps, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			continue
		}
		return errs.Failedf("the Vault token may not write %s: it lacks %s (its capabilities there: %s); a rotation writes a new version and patches its markers",
			need.path, strings.Join(missing, ", "), strings.Join(caps, ", ")).
			WithFix("use a token whose policy grants " + strings.Join(need.all, ", ") + " on " + need.path)
	}
	return nil
}
