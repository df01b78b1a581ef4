package secretstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Staging labels Secrets Manager itself manages.
const (
	AWSCurrent  = "AWSCURRENT"
	AWSPending  = "AWSPENDING"
	AWSPrevious = "AWSPREVIOUS"
)

// SecretsManager is a local server for the AWS Secrets Manager API in its JSON
// 1.1 protocol (POST /, X-Amz-Target: secretsmanager.<Operation>, Content-Type:
// application/x-amz-json-1.1) with the operations key rotation uses:
// CreateSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
// DescribeSecret and ListSecretVersionIds, following the API reference
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/):
//
//   - ClientRequestToken is the VersionId and makes CreateSecret and
//     PutSecretValue idempotent: the same token with the same value is ignored,
//     with a different value it fails (ResourceExistsException).
//   - A staging label is on at most one version; attaching it moves it. A
//     secret's first version is always labelled AWSCURRENT. Whenever AWSCURRENT
//     moves, AWSPREVIOUS moves to the version it left.
//   - UpdateSecretVersionStage must name, in RemoveFromVersionId, the version a
//     label is leaving, or it fails (InvalidParameterException).
//   - A version without labels is deprecated: listed only with
//     IncludeDeprecated, still readable by VersionId.
//
// Errors are HTTP 400 with {"__type": "<Exception>", "message": "…"}. Any SigV4
// signature is accepted, but the Authorization header must be present: the SDK
// has to sign. It is safe for concurrent use.
type SecretsManager struct {
	srv *httptest.Server
	rec recorder

	mu      sync.Mutex
	region  string
	account string
	secrets map[string]*smSecret // by name
	// echo, when set, answers every write with the request sent back (see
	// EchoWriteErrors); echoType puts it in the error's __type too.
	echo     Echo
	echoType bool
	denied   map[string]bool // operations the caller's policy does not allow
}

type smSecret struct {
	name, arn, description string
	created, changed       time.Time
	versions               map[string]*smVersion
}

type smVersion struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// NewSecretsManager starts a server for region us-east-1, closed when the test
// ends.
func NewSecretsManager(t testing.TB) *SecretsManager {
	t.Helper()
	s := &SecretsManager{region: "us-east-1", account: "123456789012", secrets: map[string]*smSecret{}, denied: map[string]bool{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the endpoint, for AWS_ENDPOINT_URL_SECRETS_MANAGER.
func (s *SecretsManager) URL() string { return s.srv.URL }

// Region is the region the server's ARNs name.
func (s *SecretsManager) Region() string { return s.region }

// Requests returns every request received so far.
func (s *SecretsManager) Requests() []Request { return s.rec.all() }

// Seed creates a secret whose first version (AWSCURRENT) holds value, as
// `aws secretsmanager create-secret --secret-string` would, and returns the
// version id.
func (s *SecretsManager) Seed(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.newSecret(name, "")
	id := uuid.NewString()
	sec.versions[id] = &smVersion{id: id, str: &value, created: time.Now().UTC()}
	sec.attach(AWSCurrent, id)
	s.secrets[name] = sec
	return id
}

// EchoWriteErrors makes every later CreateSecret and PutSecretValue fail with a
// ValidationException whose message quotes the whole request body — the secret
// value included — as a misbehaving proxy or look-alike service might. Nothing is
// stored. It tests that the client never shows what a service echoes.
func (s *SecretsManager) EchoWriteErrors() { s.EchoWriteErrorsAs(EchoForms["verbatim"], false) }

// EchoWriteErrorsAs is EchoWriteErrors with the body sent back in form, in the
// message and, with inType, as the error's __type (its code) too.
func (s *SecretsManager) EchoWriteErrorsAs(form Echo, inType bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo, s.echoType = form, inType
}

// Deny makes every later call of the operations fail with AccessDeniedException,
// as AWS answers a caller whose IAM policy does not allow them: the permission is
// checked before anything the request asks is, and nothing changes.
func (s *SecretsManager) Deny(ops ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		s.denied[op] = true
	}
}

// Stages returns each version's staging labels (deprecated versions included,
// with no labels).
func (s *SecretsManager) Stages(name string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	if sec := s.secrets[name]; sec != nil {
		for id, v := range sec.versions {
			out[id] = slices.Clone(v.stages)
		}
	}
	return out
}

// Value returns the SecretString of a version.
func (s *SecretsManager) Value(name, versionID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		if v := sec.versions[versionID]; v != nil && v.str != nil {
			return *v.str, true
		}
	}
	return "", false
}

// ARN returns a secret's ARN ("" if there is no such secret).
func (s *SecretsManager) ARN(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		return sec.arn
	}
	return ""
}

func (s *SecretsManager) newSecret(name, description string) *smSecret {
	now := time.Now().UTC()
	suffix := randomHex(3)
	return &smSecret{
		name:        name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.region, s.account, name, suffix),
		description: description,
		created:     now,
		changed:     now,
		versions:    map[string]*smVersion{},
	}
}

// holder is the version carrying label, or "".
func (sec *smSecret) holder(label string) string {
	for id, v := range sec.versions {
		if slices.Contains(v.stages, label) {
			return id
		}
	}
	return ""
}

// attach puts label on version to, taking it off whichever version had it; a
// moving AWSCURRENT leaves AWSPREVIOUS behind on the version it left.
func (sec *smSecret) attach(label, to string) {
	from := sec.holder(label)
	if from == to {
		return
	}
	if from != "" {
		sec.detach(label, from)
		if label == AWSCurrent {
			sec.attach(AWSPrevious, from)
		}
	}
	v := sec.versions[to]
	v.stages = append(v.stages, label)
	sec.changed = time.Now().UTC()
}

func (sec *smSecret) detach(label, from string) {
	v := sec.versions[from]
	v.stages = slices.DeleteFunc(v.stages, func(l string) bool { return l == label })
	sec.changed = time.Now().UTC()
}

// lookup finds a secret by name, full ARN or partial ARN (without the random
// six-character suffix). s.mu must be held.
func (s *SecretsManager) lookup(id string) *smSecret {
	if sec := s.secrets[id]; sec != nil {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.arn == id || strings.TrimSuffix(sec.arn, sec.arn[len(sec.arn)-7:]) == id {
			return sec
		}
	}
	return nil
}

type awsError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (s *SecretsManager) fail(w http.ResponseWriter, typ, format string, args ...any) {
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	writeJSON(w, http.StatusBadRequest, "application/x-amz-json-1.1", awsError{Type: typ, Message: fmt.Sprintf(format, args...)})
}

func (s *SecretsManager) ok(w http.ResponseWriter, v any) {
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	writeJSON(w, http.StatusOK, "application/x-amz-json-1.1", v)
}

var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[^/]+/secretsmanager/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$`)

func (s *SecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := s.rec.take(r)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		s.fail(w, "UnknownOperationException", "%s %s is not an operation of this service", r.Method, r.URL.Path)
		return
	}
	if !sigV4.MatchString(r.Header.Get("Authorization")) || r.Header.Get("X-Amz-Date") == "" {
		s.fail(w, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		s.fail(w, "SerializationException", "Content-Type %q is not application/x-amz-json-1.1", ct)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	if !ok {
		s.fail(w, "UnknownOperationException", "missing or foreign X-Amz-Target %q", r.Header.Get("X-Amz-Target"))
		return
	}
	handlers := map[string]func(http.ResponseWriter, []byte){
		"CreateSecret":             s.createSecret,
		"GetSecretValue":           s.getSecretValue,
		"PutSecretValue":           s.putSecretValue,
		"UpdateSecretVersionStage": s.updateSecretVersionStage,
		"DescribeSecret":           s.describeSecret,
		"ListSecretVersionIds":     s.listSecretVersionIds,
	}
	h, ok := handlers[op]
	if !ok {
		s.fail(w, "UnknownOperationException", "operation %s is not supported by this server", op)
		return
	}
	// One request at a time, like the service's per-secret consistency: handlers run
	// under the lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[op] {
		s.fail(w, "AccessDeniedException", "User: arn:aws:iam::%s:user/vrwxctl-test is not authorized to perform: secretsmanager:%s because no identity-based policy allows the secretsmanager:%s action", s.account, op, op)
		return
	}
	if s.echo != nil && (op == "CreateSecret" || op == "PutSecretValue") {
		echo, typ := s.echo(body), "ValidationException"
		if s.echoType {
			typ = echo
		}
		s.fail(w, typ, "1 validation error detected in request %s", echo)
		return
	}
	h(w, body)
}

// decode reads the request into v, or answers SerializationException.
func (s *SecretsManager) decode(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		s.fail(w, "SerializationException", "cannot parse the request body")
		return false
	}
	return true
}

// secretNamed finds the secret id names, or answers ResourceNotFoundException.
func (s *SecretsManager) secretNamed(w http.ResponseWriter, id string) *smSecret {
	sec := s.lookup(id)
	if sec == nil {
		s.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	return sec
}

// epoch is the JSON 1.1 timestamp form: seconds since the epoch as a number.
func epoch(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
)

func validToken(t string) bool { return len(t) >= 32 && len(t) <= 64 }

func sameValue(v *smVersion, str *string, bin []byte) bool {
	if (v.str == nil) != (str == nil) {
		return false
	}
	if str != nil {
		return *v.str == *str
	}
	return bytes.Equal(v.bin, bin)
}

func (s *SecretsManager) createSecret(w http.ResponseWriter, body []byte) {
	var in struct {
		Name               string
		ClientRequestToken string
		Description        string
		SecretString       *string
		SecretBinary       []byte
	}
	if !s.decode(w, body, &in) {
		return
	}
	if !nameRE.MatchString(in.Name) {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9/_+=.@-]+$ and have length between 1 and 512")
		return
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		s.fail(w, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
		return
	}
	hasValue := in.SecretString != nil || in.SecretBinary != nil
	if in.ClientRequestToken == "" && hasValue {
		in.ClientRequestToken = uuid.NewString()
	}
	if in.ClientRequestToken != "" && !validToken(in.ClientRequestToken) {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
		return
	}
	if sec := s.secrets[in.Name]; sec != nil {
		if v := sec.versions[in.ClientRequestToken]; v != nil && sameValue(v, in.SecretString, in.SecretBinary) {
			s.ok(w, map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "ReplicationStatus": []any{}})
			return
		}
		s.fail(w, "ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
		return
	}
	sec := s.newSecret(in.Name, in.Description)
	s.secrets[in.Name] = sec
	out := map[string]any{"ARN": sec.arn, "Name": sec.name, "ReplicationStatus": []any{}}
	if hasValue {
		sec.versions[in.ClientRequestToken] = &smVersion{id: in.ClientRequestToken, str: in.SecretString, bin: in.SecretBinary, created: sec.created}
		sec.attach(AWSCurrent, in.ClientRequestToken)
		out["VersionId"] = in.ClientRequestToken
	}
	s.ok(w, out)
}

func (s *SecretsManager) getSecretValue(w http.ResponseWriter, body []byte) {
	var in struct{ SecretId, VersionId, VersionStage string }
	if !s.decode(w, body, &in) {
		return
	}
	sec := s.secretNamed(w, in.SecretId)
	if sec == nil {
		return
	}
	var v *smVersion
	switch {
	case in.VersionId != "":
		v = sec.versions[in.VersionId]
		if v == nil || (in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage)) {
			s.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", in.VersionId)
			return
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = AWSCurrent
		}
		v = sec.versions[sec.holder(stage)]
		if v == nil {
			s.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
			return
		}
	}
	out := map[string]any{
		"ARN":           sec.arn,
		"Name":          sec.name,
		"VersionId":     v.id,
		"VersionStages": nonNil(v.stages),
		"CreatedDate":   epoch(v.created),
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = v.bin
	}
	s.ok(w, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func validStages(stages []string) bool {
	if len(stages) > 20 {
		return false
	}
	for _, l := range stages {
		if l == "" || len(l) > 256 {
			return false
		}
	}
	return true
}

func (s *SecretsManager) putSecretValue(w http.ResponseWriter, body []byte) {
	var in struct {
		SecretId           string
		ClientRequestToken string
		SecretString       *string
		SecretBinary       []byte
		VersionStages      []string
	}
	if !s.decode(w, body, &in) {
		return
	}
	switch {
	case in.SecretString != nil && in.SecretBinary != nil:
		s.fail(w, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
		return
	case in.SecretString == nil && in.SecretBinary == nil:
		s.fail(w, "InvalidParameterException", "You must provide either SecretString or SecretBinary.")
		return
	}
	if in.ClientRequestToken == "" {
		in.ClientRequestToken = uuid.NewString()
	}
	if !validToken(in.ClientRequestToken) {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
		return
	}
	if !validStages(in.VersionStages) {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'versionStages' failed to satisfy constraint: Member must have length less than or equal to 20, and each label between 1 and 256 characters")
		return
	}
	sec := s.secretNamed(w, in.SecretId)
	if sec == nil {
		return
	}
	if v := sec.versions[in.ClientRequestToken]; v != nil {
		if !sameValue(v, in.SecretString, in.SecretBinary) {
			s.fail(w, "ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
			return
		}
		s.ok(w, map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": nonNil(v.stages)})
		return
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{AWSCurrent}
	}
	if len(sec.versions) == 0 && !slices.Contains(stages, AWSCurrent) {
		stages = append(slices.Clone(stages), AWSCurrent)
	}
	id := in.ClientRequestToken
	sec.versions[id] = &smVersion{id: id, str: in.SecretString, bin: in.SecretBinary, created: time.Now().UTC()}
	for _, l := range stages {
		sec.attach(l, id)
	}
	s.ok(w, map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": id, "VersionStages": nonNil(sec.versions[id].stages)})
}

func (s *SecretsManager) updateSecretVersionStage(w http.ResponseWriter, body []byte) {
	var in struct{ SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId string }
	if !s.decode(w, body, &in) {
		return
	}
	if in.VersionStage == "" || len(in.VersionStage) > 256 {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'versionStage' failed to satisfy constraint: Member must have length between 1 and 256")
		return
	}
	if in.MoveToVersionId == "" && in.RemoveFromVersionId == "" {
		s.fail(w, "InvalidParameterException", "You must specify MoveToVersionId or RemoveFromVersionId.")
		return
	}
	sec := s.secretNamed(w, in.SecretId)
	if sec == nil {
		return
	}
	label, holder := in.VersionStage, sec.holder(in.VersionStage)
	for _, id := range []string{in.MoveToVersionId, in.RemoveFromVersionId} {
		if id != "" && sec.versions[id] == nil {
			s.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret version: %s", id)
			return
		}
	}
	if in.RemoveFromVersionId != "" && in.RemoveFromVersionId != holder {
		s.fail(w, "InvalidParameterException", "The staging label %s is not attached to version %s.", label, in.RemoveFromVersionId)
		return
	}
	if in.MoveToVersionId == "" {
		if label == AWSCurrent {
			s.fail(w, "InvalidParameterException", "You can't remove the staging label AWSCURRENT from a version without moving it to another version.")
			return
		}
		sec.detach(label, in.RemoveFromVersionId)
		s.ok(w, map[string]any{"ARN": sec.arn, "Name": sec.name})
		return
	}
	if holder != "" && holder != in.MoveToVersionId && in.RemoveFromVersionId == "" {
		s.fail(w, "InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", label, holder)
		return
	}
	sec.attach(label, in.MoveToVersionId)
	s.ok(w, map[string]any{"ARN": sec.arn, "Name": sec.name})
}

func (s *SecretsManager) describeSecret(w http.ResponseWriter, body []byte) {
	var in struct{ SecretId string }
	if !s.decode(w, body, &in) {
		return
	}
	sec := s.secretNamed(w, in.SecretId)
	if sec == nil {
		return
	}
	stages := map[string][]string{}
	for id, v := range sec.versions {
		if len(v.stages) > 0 {
			stages[id] = slices.Clone(v.stages)
		}
	}
	out := map[string]any{
		"ARN":                sec.arn,
		"Name":               sec.name,
		"CreatedDate":        epoch(sec.created),
		"LastChangedDate":    epoch(sec.changed),
		"RotationEnabled":    false,
		"VersionIdsToStages": stages,
		"Tags":               []any{},
	}
	if sec.description != "" {
		out["Description"] = sec.description
	}
	s.ok(w, out)
}

func (s *SecretsManager) listSecretVersionIds(w http.ResponseWriter, body []byte) {
	var in struct {
		SecretId          string
		MaxResults        int
		NextToken         string
		IncludeDeprecated bool
	}
	if !s.decode(w, body, &in) {
		return
	}
	if in.MaxResults == 0 {
		in.MaxResults = 100
	}
	if in.MaxResults < 1 || in.MaxResults > 100 {
		s.fail(w, "ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
		return
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			s.fail(w, "InvalidNextTokenException", "The NextToken value is invalid.")
			return
		}
		start = n
	}
	sec := s.secretNamed(w, in.SecretId)
	if sec == nil {
		return
	}
	vs := slices.Collect(maps.Values(sec.versions))
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].created.Equal(vs[j].created) {
			return vs[i].created.Before(vs[j].created)
		}
		return vs[i].id < vs[j].id
	})
	var entries []map[string]any
	for _, v := range vs {
		if len(v.stages) == 0 && !in.IncludeDeprecated {
			continue
		}
		entries = append(entries, map[string]any{
			"VersionId":     v.id,
			"VersionStages": nonNil(v.stages),
			"CreatedDate":   epoch(v.created),
			"KmsKeyIds":     []string{"DefaultEncryptionKey"},
		})
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name, "Versions": []map[string]any{}}
	if start < len(entries) {
		end := min(start+in.MaxResults, len(entries))
		out["Versions"] = entries[start:end]
		if end < len(entries) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	s.ok(w, out)
}
