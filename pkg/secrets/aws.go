package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// AWS Secrets Manager staging labels.
const (
	awsCurrent  = "AWSCURRENT"
	awsPending  = "AWSPENDING"
	awsPrevious = "AWSPREVIOUS"
)

// awsStore keeps the key in an AWS Secrets Manager secret; see "AWS Secrets
// Manager" in the package documentation for how stages map to staging labels.
type awsStore struct {
	ref  Ref
	opts Options

	once      sync.Once
	client    *secretsmanager.Client
	clientErr error
}

func newAWSStore(r Ref, opts Options) *awsStore { return &awsStore{ref: r, opts: opts} }

func (s *awsStore) Ref() Ref { return s.ref }

func (s *awsStore) api(ctx context.Context) (*secretsmanager.Client, error) {
	s.once.Do(func() {
		var lo []func(*config.LoadOptions) error
		region := s.ref.Region
		if region == "" {
			region = s.opts.AWSRegion
		}
		if region != "" {
			lo = append(lo, config.WithRegion(region))
		}
		if s.opts.HTTPClient != nil {
			lo = append(lo, config.WithHTTPClient(s.opts.HTTPClient))
		}
		cfg, err := config.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			s.clientErr = errs.Usagef("cannot load the AWS configuration for %s", s.ref.Shown()).Wrap(err).
				WithFix("check AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE")
			return
		}
		if cfg.Region == "" {
			s.clientErr = errs.Usagef("no AWS region for %s", s.ref.Shown()).
				WithFix("add ?region=REGION to the reference, or set AWS_REGION")
			return
		}
		s.client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if s.opts.AWSEndpoint != "" {
				o.BaseEndpoint = aws.String(s.opts.AWSEndpoint)
			}
			if o.Credentials != nil {
				o.Credentials = awsCredentials{o.Credentials}
			}
		})
	})
	return s.client, s.clientErr
}

// apiErr turns an SDK error into an error kind with the operation and the
// reference named. Of what the service answered only the HTTP status and the error
// code are shown (see storeerr.go): never its message or body, which a proxy or a
// look-alike service in between may fill with the request — the key being written.
func (s *awsStore) apiErr(op string, err error) error {
	err = redact.Error(err)
	if errs.KindOf(err) != errs.Failed {
		return err
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return errs.Failedf("AWS Secrets Manager %s: %s not found (ResourceNotFoundException)", op, s.ref.Shown()).
			WithFix("check the secret name and the region")
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e := errs.Failedf("AWS Secrets Manager %s on %s failed: %s%s", op, s.ref.Shown(), serviceCode(ae.ErrorCode()), statusText(httpStatus(err)))
		switch ae.ErrorCode() {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			return e.WithFix("check the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that their policy allows secretsmanager:" + op)
		}
		return e
	}
	var ce *awsCredentialsError
	if errors.As(err, &ce) {
		return errs.Failedf("no usable AWS credentials for %s", s.ref.Shown()).Wrap(err).
			WithFix("configure credentials as for the AWS CLI: AWS_PROFILE (after `aws sso login` if it uses SSO), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance or task role")
	}
	if st := httpStatus(err); st != 0 {
		// An answer that is not the service's error shape (a proxy's page, say):
		// the SDK's error would quote it.
		return errs.Failedf("AWS Secrets Manager %s on %s failed: an answer that is not Secrets Manager's%s", op, s.ref.Shown(), statusText(st)).
			WithFix("check the endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER), the region and any proxy in between")
	}
	return errs.Failedf("AWS Secrets Manager %s on %s failed", op, s.ref.Shown()).Wrap(err).
		WithFix("check network access to Secrets Manager, the endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER) and the region")
}

// awsCredentials is the SDK's credential chain with its failures marked: the SDK
// reports them wrapped in plain text ("get identity: get credentials: …"), and
// apiErr tells them apart from a service's answer by this type.
type awsCredentials struct{ aws.CredentialsProvider }

func (c awsCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return creds, &awsCredentialsError{err}
	}
	return creds, nil
}

// IsCredentialsProvider lets the SDK see through the wrapper (it looks for
// anonymous credentials).
func (c awsCredentials) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(c.CredentialsProvider, target)
}

// awsCredentialsError is a failure to find or refresh AWS credentials.
type awsCredentialsError struct{ err error }

func (e *awsCredentialsError) Error() string { return e.err.Error() }
func (e *awsCredentialsError) Unwrap() error { return e.err }

func awsStages(labels []string) []string {
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		switch l {
		case awsCurrent:
			out = append(out, StageCurrent)
		case awsPending:
			out = append(out, StagePending)
		case awsPrevious:
			out = append(out, StagePrevious)
		default:
			out = append(out, l)
		}
	}
	return out
}

// decode extracts the key from a secret value. Errors name the reference and
// field, never the value: JSON decoding errors are not wrapped because they can
// quote the input.
func (s *awsStore) decode(str *string, bin []byte, versionID string) (PrivateKey, error) {
	at := where(s.ref, versionID)
	expected := fmt.Sprintf(`expected a JSON object like {"%s":"0x<64 hex digits>"}`, s.ref.Field)
	if str == nil {
		if bin != nil {
			clear(bin)
			return PrivateKey{}, errs.Usagef("%s holds a binary secret; %s in SecretString", at, expected)
		}
		return PrivateKey{}, errs.Usagef("%s holds no value; %s", at, expected)
	}
	fields, err := jsonObject(*str)
	if err != nil {
		return PrivateKey{}, errs.Usagef("the value of %s is not a JSON object; %s", at, expected)
	}
	return fieldKey(at, s.ref.Field, fields, expected)
}

func jsonObject(s string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func fieldKey(at, field string, fields map[string]json.RawMessage, expected string) (PrivateKey, error) {
	raw, ok := fields[field]
	if !ok {
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		have := "no fields"
		if len(names) > 0 {
			have = "fields " + strings.Join(names, ", ")
		}
		return PrivateKey{}, errs.Usagef("%s has no field %s (it has %s); %s", at, redact.Quote(field), have, expected).
			WithFix("name the field holding the key with #FIELD at the end of the reference")
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return PrivateKey{}, errs.Usagef("field %s of %s is not a string; %s", redact.Quote(field), at, expected)
	}
	return parseHexKey(at, v)
}

// get reads a version. notFound describes what is missing when AWS finds nothing;
// missingIsUsage says that is the secret itself (the reference names nothing, bad
// input) rather than one of its versions.
func (s *awsStore) get(ctx context.Context, in *secretsmanager.GetSecretValueInput, versionID, notFound string, missingIsUsage bool) (PrivateKey, Version, error) {
	c, err := s.api(ctx)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	in.SecretId = aws.String(s.ref.SecretID)
	out, err := c.GetSecretValue(ctx, in)
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			e := errs.Failedf("%s (AWS: ResourceNotFoundException)", notFound)
			if missingIsUsage {
				e.Kind = errs.Usage
			}
			return PrivateKey{}, Version{}, e.WithFix("check the secret name and region; `vrwxctl key versions --store " + s.ref.Shown() + "` lists its versions")
		}
		return PrivateKey{}, Version{}, s.apiErr("GetSecretValue", err)
	}
	k, err := s.decode(out.SecretString, out.SecretBinary, versionID)
	if err != nil {
		return PrivateKey{}, Version{}, err
	}
	return k, Version{ID: aws.ToString(out.VersionId), Stages: awsStages(out.VersionStages), Created: aws.ToTime(out.CreatedDate), Address: k.Address()}, nil
}

func (s *awsStore) Read(ctx context.Context, versionID string) (PrivateKey, Version, error) {
	in := &secretsmanager.GetSecretValueInput{}
	notFound := fmt.Sprintf("%s not found, or it has no current (AWSCURRENT) version", s.ref.String())
	if versionID != "" {
		in.VersionId = aws.String(versionID)
		notFound = fmt.Sprintf("%s not found, or it has no version %s", s.ref.String(), versionID)
	}
	return s.get(ctx, in, versionID, notFound, versionID == "")
}

func (s *awsStore) ReadPending(ctx context.Context) (PrivateKey, Version, error) {
	return s.get(ctx, &secretsmanager.GetSecretValueInput{VersionStage: aws.String(awsPending)}, "",
		fmt.Sprintf("%s not found, or it has no pending version (none is labelled AWSPENDING)", s.ref.String()), false)
}

func (s *awsStore) readPrevious(ctx context.Context) (PrivateKey, Version, error) {
	return s.get(ctx, &secretsmanager.GetSecretValueInput{VersionStage: aws.String(awsPrevious)}, "",
		fmt.Sprintf("%s not found, or it has no previous version (none is labelled AWSPREVIOUS)", s.ref.String()), false)
}

// labels returns the secret's VersionId → staging labels map; found is false
// when the secret does not exist.
func (s *awsStore) labels(ctx context.Context) (m map[string][]string, found bool, err error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, false, err
	}
	out, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.ref.SecretID)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, false, nil
		}
		return nil, false, s.apiErr("DescribeSecret", err)
	}
	return out.VersionIdsToStages, true, nil
}

func withLabel(m map[string][]string, label string) string {
	for id, ls := range m {
		if slices.Contains(ls, label) {
			return id
		}
	}
	return ""
}

func (s *awsStore) WritePending(ctx context.Context, key PrivateKey) (Version, error) {
	if key.IsZero() {
		return Version{}, errs.Usagef("no key to write to %s", s.ref.Shown())
	}
	c, err := s.api(ctx)
	if err != nil {
		return Version{}, err
	}
	m, found, err := s.labels(ctx)
	if err != nil {
		return Version{}, err
	}
	token := uuid.NewString()
	if !found {
		if strings.HasPrefix(s.ref.SecretID, "arn:") {
			return Version{}, errs.Failedf("%s does not exist; vrwxctl creates new secrets by name, not by ARN", s.ref.Shown())
		}
		body, err := s.nextValue(ctx, c, "", key)
		if err != nil {
			return Version{}, err
		}
		defer clear(body)
		out, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:               aws.String(s.ref.SecretID),
			ClientRequestToken: aws.String(token),
			SecretString:       aws.String(string(body)),
			Description:        aws.String("VRWX relayer key, written by vrwxctl"),
		})
		if err != nil {
			return Version{}, s.apiErr("CreateSecret", err)
		}
		return Version{ID: aws.ToString(out.VersionId), Stages: []string{StageCurrent}, Address: key.Address()}, nil
	}
	if id := withLabel(m, awsPending); id != "" {
		v := Version{ID: id, Stages: awsStages(m[id])}
		if k, _, err := s.Read(ctx, id); err == nil {
			v.Address = k.Address()
		}
		return Version{}, pendingExists(s.ref, v)
	}
	body, err := s.nextValue(ctx, c, withLabel(m, awsCurrent), key)
	if err != nil {
		return Version{}, err
	}
	defer clear(body)
	out, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.ref.SecretID),
		ClientRequestToken: aws.String(token),
		SecretString:       aws.String(string(body)),
		VersionStages:      []string{awsPending},
	})
	if err != nil {
		return Version{}, s.apiErr("PutSecretValue", err)
	}
	id := aws.ToString(out.VersionId)
	if slices.Contains(out.VersionStages, awsCurrent) {
		// A secret with no versions: AWS made the first one current as well.
		if err := s.moveLabel(ctx, awsPending, "", id); err != nil {
			return Version{}, err
		}
		return Version{ID: id, Stages: []string{StageCurrent}, Address: key.Address()}, nil
	}
	return Version{ID: id, Stages: awsStages(out.VersionStages), Address: key.Address()}, nil
}

// nextValue is the SecretString of a new version over the version current ("" for
// none): current's JSON fields with the key in the reference's field. The caller
// clears it when it has been sent.
func (s *awsStore) nextValue(ctx context.Context, c *secretsmanager.Client, current string, key PrivateKey) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if current != "" {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.ref.SecretID), VersionId: aws.String(current)})
		if err != nil {
			return nil, s.apiErr("GetSecretValue", err)
		}
		if out.SecretString == nil {
			return nil, errs.Usagef("the current value of %s is binary; vrwxctl keeps the key in a JSON SecretString and will not replace a binary secret", s.ref.Shown())
		}
		if fields, err = jsonObject(*out.SecretString); err != nil {
			return nil, errs.Usagef("the current value of %s is not a JSON object, so the key cannot be added to it as field %s", s.ref.Shown(), redact.Quote(s.ref.Field))
		}
	}
	hexKey, _ := json.Marshal(key.hexEncode())
	defer clear(hexKey)
	fields[s.ref.Field] = hexKey
	body, _ := json.Marshal(fields)
	return body, nil
}

// moveLabel is UpdateSecretVersionStage: label moves to `to` ("" = only remove
// it) from `from` ("" = it is on no version).
func (s *awsStore) moveLabel(ctx context.Context, label, to, from string) error {
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(s.ref.SecretID), VersionStage: aws.String(label)}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	if _, err := c.UpdateSecretVersionStage(ctx, in); err != nil {
		return s.apiErr("UpdateSecretVersionStage", err)
	}
	return nil
}

func (s *awsStore) Promote(ctx context.Context, versionID string) error {
	return s.promote(ctx, versionID, "")
}

// promote moves AWSCURRENT onto versionID; when from is not "", provided from is
// where it is: AWS refuses the move (RemoveFromVersionId) when another version
// took it since the labels were read.
func (s *awsStore) promote(ctx context.Context, versionID, from string) error {
	m, found, err := s.labels(ctx)
	if err != nil {
		return err
	}
	if !found {
		return errs.Failedf("%s not found", s.ref.Shown())
	}
	labels, ok := m[versionID]
	if !ok {
		return errs.Failedf("%s has no labelled version %s", s.ref.Shown(), redact.Quote(versionID))
	}
	if slices.Contains(labels, awsCurrent) {
		return s.dropPendingUnlessClaimed(ctx, versionID, labels)
	}
	if !slices.Contains(labels, awsPending) {
		return notPending(s.ref, versionID, awsStages(labels))
	}
	cur := withLabel(m, awsCurrent)
	if from != "" && cur != from {
		return changedSince(s.ref, cur, from, nil)
	}
	if err := s.moveLabel(ctx, awsCurrent, versionID, cur); err != nil {
		if from == "" {
			return err
		}
		if m, _, rerr := s.labels(ctx); rerr == nil {
			if cur := withLabel(m, awsCurrent); cur != from && cur != versionID {
				return changedSince(s.ref, cur, from, err)
			}
		}
		return err
	}
	return s.dropPendingUnlessClaimed(ctx, versionID, labels)
}

func (s *awsStore) Rollback(ctx context.Context) error {
	m, found, err := s.labels(ctx)
	if err != nil {
		return err
	}
	if !found {
		return errs.Failedf("%s not found", s.ref.Shown())
	}
	prev := withLabel(m, awsPrevious)
	if prev == "" {
		return errs.Failedf("%s has no previous version (no version is labelled AWSPREVIOUS) to roll back to", s.ref.Shown())
	}
	return s.moveLabel(ctx, awsCurrent, prev, withLabel(m, awsCurrent))
}

func (s *awsStore) DiscardPending(ctx context.Context) error {
	m, found, err := s.labels(ctx)
	if err != nil {
		return err
	}
	id := withLabel(m, awsPending)
	if !found || id == "" {
		return errs.Failedf("%s has no pending version (no version is labelled AWSPENDING)", s.ref.Shown())
	}
	return s.moveLabel(ctx, awsPending, "", id)
}

func (s *awsStore) Versions(ctx context.Context) ([]Version, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	var out []Version
	p := secretsmanager.NewListSecretVersionIdsPaginator(c, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(s.ref.SecretID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.apiErr("ListSecretVersionIds", err)
		}
		for _, e := range page.Versions {
			v := Version{ID: aws.ToString(e.VersionId), Stages: awsStages(e.VersionStages), Created: aws.ToTime(e.CreatedDate)}
			k, _, err := s.Read(ctx, v.ID)
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
	}
	slices.SortStableFunc(out, func(a, b Version) int { return a.Created.Compare(b.Created) })
	return out, nil
}
