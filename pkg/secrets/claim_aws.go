package secrets

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// An AWS Secrets Manager store's claim is AWS's own: the rotation's new version is
// put with a staging label that carries the rotation's identity
// (vrwxctl-rotation;id=…), then AWSPENDING is moved onto it *without*
// RemoveFromVersionId — which AWS refuses when another version holds the label — so
// of two rotations exactly one gets AWSPENDING. It stays on the new version after
// the promote (as AWS's own rotation keeps it until the rotation finishes) and is
// removed, with the identity label, when the rotation ends.

// rotationToken is the ClientRequestToken of a rotation's new version: the same
// rotation and key give the same token, so a PutSecretValue repeated after a lost
// answer is the same version (AWS ignores a repeat with the same value).
var rotationNS = uuid.MustParse("5b4f2f6a-8c1e-4d0b-9a51-7e3f1c2d9b10")

func rotationToken(rot Rotation, key PrivateKey) string {
	return uuid.NewSHA1(rotationNS, []byte(rot.ID+"/"+strings.ToLower(key.Address().Hex()))).String()
}

// rotationLabel finds the identity label among a version's labels.
func rotationLabel(labels []string) (Rotation, string, bool) {
	for _, l := range labels {
		if r, _, ok := decodeRotation(l); ok {
			return r, l, true
		}
	}
	return Rotation{}, "", false
}

// claimAt is the claim of the version holding AWSPENDING.
func (s *awsStore) claimAt(ctx context.Context, m map[string][]string, id string) Claim {
	c := Claim{Version: id, Current: slices.Contains(m[id], awsCurrent)}
	if r, _, ok := rotationLabel(m[id]); ok {
		c.Rotation = r
	} else {
		c.Unidentified = true
	}
	if k, v, err := s.Read(ctx, id); err == nil {
		c.Address, c.Written = k.Address(), v.Created
	}
	return c
}

func (s *awsStore) Claim(ctx context.Context) (*Claim, error) {
	m, found, err := s.labels(ctx)
	if err != nil || !found {
		return nil, err
	}
	id := withLabel(m, awsPending)
	if id == "" {
		return nil, nil
	}
	c := s.claimAt(ctx, m, id)
	return &c, nil
}

func (s *awsStore) ClaimPending(ctx context.Context, key PrivateKey, rot Rotation) (Version, error) {
	if key.IsZero() || rot.ID == "" {
		return Version{}, errs.Usagef("no key or rotation to claim %s with", s.ref.Shown())
	}
	c, err := s.api(ctx)
	if err != nil {
		return Version{}, err
	}
	m, found, err := s.labels(ctx)
	if err != nil {
		return Version{}, err
	}
	if !found {
		return Version{}, errs.Usagef("%s does not exist; a rotation replaces the key a secret holds", s.ref.Shown())
	}
	if holder := withLabel(m, awsPending); holder != "" {
		h := s.claimAt(ctx, m, holder)
		if !h.Unidentified && h.ID == rot.ID {
			return Version{ID: holder, Stages: awsStages(m[holder]), Address: h.Address}, nil
		}
		return Version{}, claimed(s.ref, h)
	}
	current := withLabel(m, awsCurrent)
	if current == "" {
		return Version{}, errs.Failedf("%s has no current version (AWSCURRENT) to rotate", s.ref.Shown())
	}
	if rot.Old != "" && current != rot.Old {
		return Version{}, moved(s.ref, rot.Old, current)
	}
	body, err := s.nextValue(ctx, c, current, key)
	if err != nil {
		return Version{}, err
	}
	defer clear(body)
	label := rot.encode("")
	put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.ref.SecretID),
		ClientRequestToken: aws.String(rotationToken(rot, key)),
		SecretString:       aws.String(string(body)),
		VersionStages:      []string{label},
	})
	if err != nil {
		return Version{}, s.apiErr("PutSecretValue", err)
	}
	id := aws.ToString(put.VersionId)
	// The claim: AWSPENDING onto this version, refused by AWS when another version
	// took it since the labels were read.
	if err := s.moveLabel(ctx, awsPending, id, ""); err != nil {
		m, _, rerr := s.labels(ctx)
		if rerr == nil {
			if holder := withLabel(m, awsPending); holder != "" && holder != id {
				h := s.claimAt(ctx, m, holder)
				// This version is nobody's: its identity label goes, so AWS may
				// deprecate it.
				_ = s.moveLabel(ctx, label, "", id)
				return Version{}, claimed(s.ref, h)
			}
		}
		return Version{}, err
	}
	// Claimed: promotions need the claim, so AWSCURRENT cannot move from here on.
	// It must still be where the rotation planned from.
	if m, _, err := s.labels(ctx); err != nil {
		return Version{}, err
	} else if cur := withLabel(m, awsCurrent); rot.Old != "" && cur != rot.Old {
		_ = s.ReleaseClaim(ctx, rot.ID)
		return Version{}, moved(s.ref, rot.Old, cur)
	}
	return Version{ID: id, Stages: []string{StagePending, label}, Address: key.Address()}, nil
}

func (s *awsStore) ReleaseClaim(ctx context.Context, id string) error {
	m, found, err := s.labels(ctx)
	if err != nil || !found {
		return err
	}
	if holder := withLabel(m, awsPending); holder != "" {
		if r, _, ok := rotationLabel(m[holder]); ok && r.ID != id {
			return errs.Failedf("%s is claimed by rotation %s, not %s; its claim stays", s.ref.Shown(), r.ID, id)
		}
	}
	for vid, labels := range m {
		r, label, ok := rotationLabel(labels)
		if !ok || r.ID != id {
			continue
		}
		if slices.Contains(labels, awsPending) {
			if err := s.moveLabel(ctx, awsPending, "", vid); err != nil {
				return err
			}
		}
		if err := s.moveLabel(ctx, label, "", vid); err != nil {
			return err
		}
	}
	return nil
}

func (s *awsStore) PromoteFrom(ctx context.Context, versionID, from string) error {
	return s.promote(ctx, versionID, from)
}

// dropPendingUnlessClaimed removes AWSPENDING from a promoted version, unless a
// rotation's claim holds it there (until ReleaseClaim).
func (s *awsStore) dropPendingUnlessClaimed(ctx context.Context, versionID string, labels []string) error {
	if _, _, claimedVersion := rotationLabel(labels); claimedVersion || !slices.Contains(labels, awsPending) {
		return nil
	}
	return s.moveLabel(ctx, awsPending, "", versionID)
}

// CheckWritable asks AWS, without changing anything, whether the credentials may
// put a version and move labels: DescribeSecret, then two requests that AWS
// refuses after its permission check for what they ask — a new value under the
// current version's id (versions cannot change: ResourceExistsException) and the
// removal of a label the current version does not carry (InvalidParameter). An
// AccessDenied answer names the permission that is missing.
func (s *awsStore) CheckWritable(ctx context.Context) error {
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	m, found, err := s.labels(ctx)
	if err != nil {
		return err
	}
	if !found {
		return errs.Failedf("%s does not exist", s.ref.Shown()).WithFix("check the secret name and the region")
	}
	current := withLabel(m, awsCurrent)
	if current == "" {
		return errs.Failedf("%s has no current version (AWSCURRENT)", s.ref.Shown())
	}
	probe := "vrwxctl-probe"
	_, perr := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(s.ref.SecretID), ClientRequestToken: aws.String(current), SecretString: aws.String(`{"vrwxctl":"permission probe"}`),
		VersionStages: []string{probe}})
	if err := probeResult("PutSecretValue", perr, "ResourceExistsException"); err != nil {
		return s.apiErr("PutSecretValue", err)
	}
	_, uerr := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(s.ref.SecretID), VersionStage: aws.String(probe), RemoveFromVersionId: aws.String(current)})
	if err := probeResult("UpdateSecretVersionStage", uerr, "InvalidParameterException"); err != nil {
		return s.apiErr("UpdateSecretVersionStage", err)
	}
	return nil
}

// errProbeWrote says a permission probe was accepted, which it must never be.
var errProbeWrote = errors.New("the permission probe was accepted instead of refused")

// probeResult is nil when err is the refusal the probe expects (the permission
// check passed), else the error to report.
func probeResult(op string, err error, want string) error {
	if err == nil {
		return errs.Failedf("AWS Secrets Manager %s: %v", op, errProbeWrote)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == want {
		return nil
	}
	return err
}
