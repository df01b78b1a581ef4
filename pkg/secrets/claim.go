package secrets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// Rotation is the identity of a key rotation, written into the store with the
// pending version the rotation creates, so that any machine reading the store sees
// that a rotation is in progress, whose it is and what it was asked to do. It holds
// addresses, amounts and version ids, never a key.
type Rotation struct {
	ID      string    `json:"id"`
	Mode    string    `json:"mode"`
	Started time.Time `json:"started"`
	// By names who started it (user@host), for the operator who finds it.
	By string `json:"by,omitempty"`
	// Treasury is the address that funds the new key, FundWei how much.
	Treasury string `json:"treasury"`
	FundWei  string `json:"fundWei"`
	// Old is the id of the version that was current when the rotation started.
	Old string `json:"old"`
}

// Claim is a rotation's hold on a store: while it exists no other rotation starts,
// on this machine or any other. It is taken atomically with the pending version's
// write (ClaimPending) and held until the rotation ends (ReleaseClaim): after the
// promote too, until the old wallet is drained.
type Claim struct {
	Rotation
	// Version is the version the rotation wrote ("" when the claim was taken and the
	// key not yet written: a file store's lock); Address is its key's address.
	Version string
	Address common.Address
	// Current says that version is the store's current one (promoted).
	Current bool
	// Unidentified is a pending version (or, in Vault, a newer unmarked one) that
	// carries no rotation identity: written by `key generate`, by hand, or by a
	// rotation that stopped between writing it and recording whose it is. It blocks
	// a rotation as a claim does until it is discarded.
	Unidentified bool
	// Unmarked is an unidentified version that is newer than the current one and
	// carries no stage (Vault): another rotation may be recording its claim at this
	// moment, or one stopped before it did.
	Unmarked bool
	// Written is when the version was written, when the store says.
	Written time.Time
}

// ErrClaimed marks a rotation refused because the store is claimed by another
// rotation in progress (or holds a pending version of unknown origin).
var ErrClaimed = errors.New("the store is claimed by a rotation in progress")

// ClaimedError is the refusal of a claim: the store's holder and what to do.
type ClaimedError struct {
	Ref    Ref
	Holder Claim
}

func (e *ClaimedError) Error() string {
	h := e.Holder
	if h.Unidentified && h.Unmarked {
		return fmt.Sprintf("%s holds version %s (%s), newer than its current one and not marked: another rotation may be claiming the store at this moment, or one stopped before recording its claim",
			e.Ref.Shown(), h.Version, h.Address.Hex())
	}
	if h.Unidentified {
		what := "a pending version"
		if h.Version != "" {
			what += " " + h.Version
		}
		if h.Address != (common.Address{}) {
			what += " (" + h.Address.Hex() + ")"
		}
		return fmt.Sprintf("%s holds %s that no rotation claims (written by `key generate`, by hand, or by a rotation that stopped before recording it)", e.Ref.Shown(), what)
	}
	return fmt.Sprintf("%s is claimed by rotation %s", e.Ref.Shown(), h.Describe())
}

// Is makes errors.Is(err, ErrClaimed) hold.
func (e *ClaimedError) Is(target error) bool { return target == ErrClaimed }

// Describe says in one line who holds the claim and how far it got.
func (c Claim) Describe() string {
	s := c.ID
	if c.Mode != "" && c.Mode != "standard" {
		s += " (" + c.Mode + ")"
	}
	if !c.Started.IsZero() {
		s += ", started " + c.Started.UTC().Format(time.RFC3339)
	}
	if c.By != "" {
		s += " by " + c.By
	}
	switch {
	case c.Version == "":
		s += "; its new key is not written yet"
	case c.Current:
		s += fmt.Sprintf("; its new key %s (version %s) is current", c.Address.Hex(), c.Version)
	default:
		s += fmt.Sprintf("; its new key %s (version %s) is pending", c.Address.Hex(), c.Version)
	}
	return s
}

// moved refuses a claim whose rotation planned from a version that is no longer
// current: another rotation took the store and finished in between.
func moved(r Ref, planned, current string) error {
	return errs.Refusedf("the current version of %s is %s, not %s which this rotation started from: another rotation claimed the store and finished meanwhile; nothing was written",
		r.Shown(), current, planned).
		WithFix("run it again: a new rotation plans from the key that is current now").Marks(ErrClaimed)
}

// changedSince is the refusal of a promote because the current version is cur,
// not from, which the rotation started from (err: the store's own refusal, if any).
func changedSince(r Ref, cur, from string, err error) error {
	return errs.Refusedf("the current version of %s is %s, not %s as when the rotation started: someone else changed the store; nothing was promoted",
		r.Shown(), cur, from).Wrap(err)
}

// claimed is the refusal of a claim because holder has the store (exit 3).
func claimed(r Ref, holder Claim) error {
	return &errs.Error{Kind: errs.Refused, Err: &ClaimedError{Ref: r, Holder: holder}}
}

// rotationPrefix starts the encoded identity (an AWS staging label, a Vault
// custom_metadata value).
const rotationPrefix = "vrwxctl-rotation"

// encode writes r in one short line of safe characters — an AWS staging label is
// at most 256 characters — with the claimed version when known (Vault).
func (r Rotation) encode(version string) string {
	parts := []string{rotationPrefix, "id=" + safe(r.ID, 40), "m=" + safe(r.Mode, 12), "s=" + strconv.FormatInt(r.Started.Unix(), 10),
		"t=" + safe(r.Treasury, 42), "f=" + safe(r.FundWei, 30), "o=" + safe(r.Old, 64)}
	if version != "" {
		parts = append(parts, "v="+safe(version, 64))
	}
	if r.By != "" {
		parts = append(parts, "b="+safe(r.By, 32))
	}
	return strings.Join(parts, ";")
}

// safe keeps the characters an identity line may hold and cuts it to n.
func safe(s string, n int) string {
	s = strings.Map(func(c rune) rune {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '@':
			return c
		}
		return '_'
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// decodeRotation reads an encoded identity; ok is false for anything else.
func decodeRotation(s string) (r Rotation, version string, ok bool) {
	parts := strings.Split(s, ";")
	if len(parts) < 2 || parts[0] != rotationPrefix {
		return Rotation{}, "", false
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "id":
			r.ID = v
		case "m":
			r.Mode = v
		case "s":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				r.Started = time.Unix(n, 0).UTC()
			}
		case "t":
			r.Treasury = v
		case "f":
			r.FundWei = v
		case "o":
			r.Old = v
		case "v":
			version = v
		case "b":
			r.By = v
		}
	}
	return r, version, r.ID != ""
}

// Claims is what a store offers a rotation beyond its versions: an atomic claim
// taken with the pending version, read back by any machine, released at the end,
// a promote that refuses when the current version is not the one the rotation
// started from, and a check that the store can be written before anything is.
// Every writable store implements it.
type Claims interface {
	// ClaimPending writes key as the pending version of rotation rot and claims the
	// store for it, atomically against every other writer: of two claims started
	// from the same state exactly one is taken, the other is refused (ErrClaimed,
	// a *ClaimedError naming the holder) and writes nothing that holds a key as
	// pending. A claim whose rotation planned from a version (rot.Old) that is no
	// longer current is refused too (ErrClaimed): another rotation came and went. Repeated by the rotation that holds the claim it returns the version
	// already written (or writes it, when the claim was taken and the key not).
	ClaimPending(ctx context.Context, key PrivateKey, rot Rotation) (Version, error)
	// Claim returns the store's claim, or nil when no rotation is in progress.
	Claim(ctx context.Context) (*Claim, error)
	// ReleaseClaim ends rotation id's claim (it finished, or was undone); nothing
	// when there is none, errs.Failed when another rotation holds it.
	ReleaseClaim(ctx context.Context, id string) error
	// PromoteFrom is Promote provided version from is current: it refuses
	// (errs.Refused) when someone changed the current version since.
	PromoteFrom(ctx context.Context, versionID, from string) error
	// CheckWritable says whether the credentials in use may write the store,
	// without writing: nil, or an error naming what is missing.
	CheckWritable(ctx context.Context) error
}

// ClaimsOf returns s's claims, or an error for a store that has none (read-only).
func ClaimsOf(s Store) (Claims, error) {
	if c, ok := s.(Claims); ok {
		return c, nil
	}
	return nil, readOnly(s.Ref())
}
