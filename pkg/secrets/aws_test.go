package secrets_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

// unsetenv removes an environment variable for the rest of the test.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	os.Unsetenv(k)
}

// awsEnv points the standard AWS SDK chain at a local Secrets Manager through
// the environment only, as an operator's shell would.
func awsEnv(t *testing.T) *secretstest.SecretsManager {
	t.Helper()
	sm := secretstest.NewSecretsManager(t)
	none := filepath.Join(t.TempDir(), "absent")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAVRWXTESTKEY00001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "vrwx-test-secret-access-key")
	t.Setenv("AWS_REGION", sm.Region())
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL())
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		unsetenv(t, k)
	}
	return sm
}

func labelsByStage(m map[string][]string) map[string]string {
	out := map[string]string{}
	for id, ls := range m {
		for _, l := range ls {
			out[l] = id
		}
	}
	return out
}

func TestAWSRotationOnNewSecret(t *testing.T) {
	sm := awsEnv(t)
	s := mustOpen(t, "aws-sm://vrwx/test/relayer-key", secrets.Options{})
	first, second := rotationRoundTrip(t, s)

	// After rollback: AWS labels as its own rotation leaves them.
	by := labelsByStage(sm.Stages("vrwx/test/relayer-key"))
	if _, ok := by["AWSPENDING"]; ok {
		t.Fatalf("AWSPENDING left on a version: %v", sm.Stages("vrwx/test/relayer-key"))
	}
	val, _ := sm.Value("vrwx/test/relayer-key", by["AWSCURRENT"])
	var body map[string]string
	if err := json.Unmarshal([]byte(val), &body); err != nil {
		t.Fatal(err)
	}
	if len(body) != 1 || !strings.HasPrefix(body["RELAYER_PRIVATE_KEY"], "0x") || len(body["RELAYER_PRIVATE_KEY"]) != 66 {
		t.Fatalf("current SecretString has fields %v, want only RELAYER_PRIVATE_KEY = 0x + 64 hex", keys(body))
	}
	vs, err := s.Versions(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Address != first.Address() || vs[1].Address != second.Address() || vs[0].Created.IsZero() {
		t.Fatalf("Versions = %+v", vs)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The runbook's secret, created by `aws secretsmanager create-secret`, with a
// second field the relayer also reads.
func TestAWSRunbookSecretStageMovement(t *testing.T) {
	sm := awsEnv(t)
	old, oldHex := testKey(t)
	const name = "vrwx/prod/relayer-key"
	oldID := sm.Seed(name, `{"RELAYER_PRIVATE_KEY":"`+oldHex+`","API_TOKEN":"keep-me"}`)
	s := mustOpen(t, "aws-sm://"+name+"#RELAYER_PRIVATE_KEY", secrets.Options{})
	ctx := ctxT(t)

	got, v, err := s.Read(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(old) || v.ID != oldID || !v.Has(secrets.StageCurrent) {
		t.Fatalf("Read = %v %+v", got, v)
	}

	next, nextHex := testKey(t)
	pv, err := s.WritePending(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if st := sm.Stages(name); strings.Join(st[pv.ID], ",") != "AWSPENDING" || strings.Join(st[oldID], ",") != "AWSCURRENT" {
		t.Fatalf("after WritePending labels = %v", st)
	}
	val, _ := sm.Value(name, pv.ID)
	var body map[string]string
	if err := json.Unmarshal([]byte(val), &body); err != nil {
		t.Fatal(err)
	}
	if body["API_TOKEN"] != "keep-me" || strings.TrimPrefix(body["RELAYER_PRIVATE_KEY"], "0x") != nextHex {
		t.Fatalf("pending value fields %v: other fields must be carried over", keys(body))
	}

	if err := s.Promote(ctx, pv.ID); err != nil {
		t.Fatal(err)
	}
	st := sm.Stages(name)
	if strings.Join(st[pv.ID], ",") != "AWSCURRENT" || strings.Join(st[oldID], ",") != "AWSPREVIOUS" {
		t.Fatalf("after Promote labels = %v, want new=AWSCURRENT only, old=AWSPREVIOUS", st)
	}
	if cur, _, _ := s.Read(ctx, ""); !cur.Equal(next) {
		t.Fatal("current is not the promoted key")
	}

	if err := s.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	st = sm.Stages(name)
	if strings.Join(st[oldID], ",") != "AWSCURRENT" || strings.Join(st[pv.ID], ",") != "AWSPREVIOUS" {
		t.Fatalf("after Rollback labels = %v", st)
	}

	// A discarded pending version loses its label and is no longer listed.
	third, _ := testKey(t)
	p3, err := s.WritePending(ctx, third)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardPending(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sm.Stages(name)[p3.ID]) != 0 {
		t.Fatalf("discarded version still labelled: %v", sm.Stages(name))
	}
	vs, err := s.Versions(ctx)
	if err != nil || len(vs) != 2 {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}

	// The key crossed the wire only in request bodies, and only to write it.
	for _, r := range sm.Requests() {
		for _, h := range []string{oldHex, nextHex} {
			if r.InURLOrHeaders(h) {
				t.Fatalf("key in URL or headers of %s", r.Header.Get("X-Amz-Target"))
			}
		}
		if r.InBody(nextHex) && r.Header.Get("X-Amz-Target") != "secretsmanager.PutSecretValue" {
			t.Fatalf("key sent in a %s request", r.Header.Get("X-Amz-Target"))
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIAVRWXTESTKEY00001/") {
			t.Fatalf("request not signed by the SDK: %q", r.Header.Get("Authorization"))
		}
	}
}

func TestAWSReadErrors(t *testing.T) {
	sm := awsEnv(t)
	ctx := ctxT(t)
	_, keyHex := testKey(t)
	sm.Seed("fields", `{"OTHER_KEY":"`+keyHex+`"}`)
	sm.Seed("notjson", keyHex)
	sm.Seed("badhex", `{"RELAYER_PRIVATE_KEY":"0x`+keyHex[:40]+`"}`)
	sm.Seed("number", `{"RELAYER_PRIVATE_KEY":12}`)

	// A reference to a secret that does not exist names nothing: bad input.
	_, _, err := mustOpen(t, "aws-sm://missing", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "aws-sm://missing", "not found")

	_, _, err = mustOpen(t, "aws-sm://fields", secrets.Options{}).Read(ctx, "0123456789abcdef0123456789abcdef")
	wantKind(t, err, errs.Failed, "no version 0123456789abcdef0123456789abcdef")

	_, _, err = mustOpen(t, "aws-sm://fields", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "aws-sm://fields#RELAYER_PRIVATE_KEY", `no field "RELAYER_PRIVATE_KEY"`, "OTHER_KEY")
	noLeak(t, err.Error(), keyHex)

	if _, _, err := mustOpen(t, "aws-sm://fields#OTHER_KEY", secrets.Options{}).Read(ctx, ""); err != nil {
		t.Fatalf("reading the named field: %v", err)
	}

	_, _, err = mustOpen(t, "aws-sm://notjson", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "aws-sm://notjson", "not a JSON object")
	noLeak(t, err.Error(), keyHex, keyHex[:8])

	_, _, err = mustOpen(t, "aws-sm://badhex", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "aws-sm://badhex", "40 hex digits")
	noLeak(t, err.Error(), keyHex[:40], keyHex[:8])

	_, _, err = mustOpen(t, "aws-sm://number", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "is not a string")

	_, _, err = mustOpen(t, "aws-sm://fields", secrets.Options{}).ReadPending(ctx)
	wantKind(t, err, errs.Failed, "no pending version")

	k, _ := testKey(t)
	_, err = mustOpen(t, "aws-sm://notjson", secrets.Options{}).WritePending(ctx, k)
	wantKind(t, err, errs.Usage, "not a JSON object")
}

// No credentials anywhere the SDK looks: the error says so and how to give them,
// told apart from the service's own refusals by its type, not its words.
func TestAWSWithoutCredentials(t *testing.T) {
	sm := awsEnv(t)
	sm.Seed("k", `{"RELAYER_PRIVATE_KEY":"0x01"}`)
	unsetenv(t, "AWS_ACCESS_KEY_ID")
	unsetenv(t, "AWS_SECRET_ACCESS_KEY")
	_, _, err := mustOpen(t, "aws-sm://k", secrets.Options{}).Read(ctxT(t), "")
	wantKind(t, err, errs.Failed, "no usable AWS credentials for aws-sm://k")
	if fix := errs.FixOf(err); !strings.Contains(fix, "AWS_PROFILE") {
		t.Errorf("fix %q does not say how to give credentials", fix)
	}
	if n := len(sm.Requests()); n != 0 {
		t.Errorf("%d requests reached the service without credentials", n)
	}
}

func TestAWSEndpointRegionAndCredentials(t *testing.T) {
	sm := awsEnv(t)
	k, keyHex := testKey(t)
	sm.Seed("k", `{"RELAYER_PRIVATE_KEY":"`+keyHex+`"}`)
	ctx := ctxT(t)
	read := func(ref string, opts secrets.Options) error {
		got, _, err := mustOpen(t, ref, opts).Read(ctx, "")
		if err == nil && !got.Equal(k) {
			t.Fatalf("%s read another key", ref)
		}
		return err
	}

	// The generic AWS_ENDPOINT_URL, as the SDK documents it.
	unsetenv(t, "AWS_ENDPOINT_URL_SECRETS_MANAGER")
	t.Setenv("AWS_ENDPOINT_URL", sm.URL())
	if err := read("aws-sm://k", secrets.Options{}); err != nil {
		t.Fatal(err)
	}
	// The option overrides the environment.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	if err := read("aws-sm://k", secrets.Options{AWSEndpoint: sm.URL()}); err != nil {
		t.Fatal(err)
	}

	// ?region= wins over AWS_REGION and is what the request is signed for.
	if err := read("aws-sm://k?region=eu-west-1", secrets.Options{AWSEndpoint: sm.URL()}); err != nil {
		t.Fatal(err)
	}
	reqs := sm.Requests()
	if auth := reqs[len(reqs)-1].Header.Get("Authorization"); !strings.Contains(auth, "/eu-west-1/secretsmanager/aws4_request") {
		t.Fatalf("request signed for another region: %s", auth)
	}

	unsetenv(t, "AWS_REGION")
	err := read("aws-sm://k", secrets.Options{AWSEndpoint: sm.URL()})
	wantKind(t, err, errs.Usage, "no AWS region", "aws-sm://k")
	if err := read("aws-sm://k", secrets.Options{AWSEndpoint: sm.URL(), AWSRegion: "us-east-2"}); err != nil {
		t.Fatal(err)
	}

	// Unreachable endpoint: Failed, naming the reference.
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	err = read("aws-sm://k", secrets.Options{AWSEndpoint: "http://127.0.0.1:1"})
	wantKind(t, err, errs.Failed, "aws-sm://k")
}

func TestAWSWritePendingRefusesSecondRotation(t *testing.T) {
	sm := awsEnv(t)
	_, h := testKey(t)
	sm.Seed("k", `{"RELAYER_PRIVATE_KEY":"`+h+`"}`)
	s := mustOpen(t, "aws-sm://k", secrets.Options{})
	ctx := ctxT(t)
	a, _ := testKey(t)
	b, _ := testKey(t)
	if _, err := s.WritePending(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err := s.WritePending(ctx, b)
	wantKind(t, err, errs.Refused, "already has a pending key", a.Address().Hex())
	if n := len(sm.Stages("k")); n != 2 {
		t.Fatalf("%d versions after a refused write, want 2", n)
	}
}
