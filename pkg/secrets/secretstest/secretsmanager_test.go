package secretstest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

// smClient is the real SDK client pointed at the server.
func smClient(t *testing.T) (*secretstest.SecretsManager, *secretsmanager.Client) {
	t.Helper()
	sm := secretstest.NewSecretsManager(t)
	c := secretsmanager.New(secretsmanager.Options{
		Region:       sm.Region(),
		BaseEndpoint: aws.String(sm.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIATEST", "secret", ""),
	})
	return sm, c
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

func labels(sm *secretstest.SecretsManager, name, id string) string {
	l := sm.Stages(name)[id]
	slices.Sort(l)
	return strings.Join(l, ",")
}

func TestSecretsManagerStagingLabels(t *testing.T) {
	t.Parallel()
	sm, c := smClient(t)
	ctx := context.Background()
	name := aws.String("app/key")

	// A secret created without a value has no versions; its first version is
	// AWSCURRENT even when only AWSPENDING was asked for.
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: name}); err != nil {
		t.Fatal(err)
	}
	first, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String("v1"), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := labels(sm, "app/key", *first.VersionId); got != "AWSCURRENT,AWSPENDING" {
		t.Fatalf("first version labels %q", got)
	}
	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: name, VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: first.VersionId}); err != nil {
		t.Fatal(err)
	}

	// PutSecretValue without stages moves AWSCURRENT; the old current becomes
	// AWSPREVIOUS.
	second, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if labels(sm, "app/key", *second.VersionId) != "AWSCURRENT" || labels(sm, "app/key", *first.VersionId) != "AWSPREVIOUS" {
		t.Fatalf("labels after second put: %v", sm.Stages("app/key"))
	}

	third, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String("v3"), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	// Moving AWSCURRENT without naming where it leaves from fails.
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: name, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: third.VersionId})
	var ip *types.InvalidParameterException
	if !errors.As(err, &ip) || !strings.Contains(err.Error(), *second.VersionId) {
		t.Fatalf("move without RemoveFromVersionId: %v", err)
	}
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: name, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: third.VersionId, RemoveFromVersionId: first.VersionId})
	if !errors.As(err, &ip) {
		t.Fatalf("move naming the wrong RemoveFromVersionId: %v", err)
	}
	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: name, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: third.VersionId, RemoveFromVersionId: second.VersionId}); err != nil {
		t.Fatal(err)
	}
	if labels(sm, "app/key", *third.VersionId) != "AWSCURRENT,AWSPENDING" || labels(sm, "app/key", *second.VersionId) != "AWSPREVIOUS" || labels(sm, "app/key", *first.VersionId) != "" {
		t.Fatalf("labels after moving AWSCURRENT: %v", sm.Stages("app/key"))
	}
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: name, VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: third.VersionId})
	if !errors.As(err, &ip) {
		t.Fatalf("removing AWSCURRENT outright: %v", err)
	}

	// Reads by stage and by id; the deprecated first version is still readable by id.
	for _, c2 := range []struct {
		in   secretsmanager.GetSecretValueInput
		want string
	}{
		{secretsmanager.GetSecretValueInput{SecretId: name}, "v3"},
		{secretsmanager.GetSecretValueInput{SecretId: name, VersionStage: aws.String("AWSPREVIOUS")}, "v2"},
		{secretsmanager.GetSecretValueInput{SecretId: name, VersionId: first.VersionId}, "v1"},
		{secretsmanager.GetSecretValueInput{SecretId: aws.String(sm.ARN("app/key")), VersionId: second.VersionId, VersionStage: aws.String("AWSPREVIOUS")}, "v2"},
	} {
		out, err := c.GetSecretValue(ctx, &c2.in)
		if err != nil || aws.ToString(out.SecretString) != c2.want || out.CreatedDate == nil {
			t.Fatalf("GetSecretValue %+v = %v, %v", c2.in, out, err)
		}
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: name, VersionId: first.VersionId, VersionStage: aws.String("AWSCURRENT")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("id and stage of different versions: %v", err)
	}

	desc, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.VersionIdsToStages) != 2 {
		t.Fatalf("VersionIdsToStages lists deprecated versions: %v", desc.VersionIdsToStages)
	}
	list, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: name})
	if err != nil || len(list.Versions) != 2 {
		t.Fatalf("ListSecretVersionIds = %+v, %v", list, err)
	}
	var ids []string
	p := secretsmanager.NewListSecretVersionIdsPaginator(c, &secretsmanager.ListSecretVersionIdsInput{SecretId: name, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			ids = append(ids, *v.VersionId)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("paginated list with deprecated = %v", ids)
	}
}

func TestSecretsManagerIdempotencyAndErrors(t *testing.T) {
	t.Parallel()
	_, c := smClient(t)
	ctx := context.Background()
	token := "11111111-2222-3333-4444-555555555555"
	in := &secretsmanager.CreateSecretInput{Name: aws.String("k"), SecretString: aws.String("a"), ClientRequestToken: aws.String(token)}
	first, err := c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateSecret(ctx, in)
	if err != nil || *again.VersionId != token || *again.ARN != *first.ARN {
		t.Fatalf("retried CreateSecret = %+v, %v", again, err)
	}
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("k"), SecretString: aws.String("b")})
	var re *types.ResourceExistsException
	if !errors.As(err, &re) {
		t.Fatalf("CreateSecret on an existing name: %v", err)
	}

	put := &secretsmanager.PutSecretValueInput{SecretId: aws.String("k"), SecretString: aws.String("b"), ClientRequestToken: aws.String("66666666-2222-3333-4444-555555555555")}
	if _, err := c.PutSecretValue(ctx, put); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSecretValue(ctx, put); err != nil {
		t.Fatalf("retried PutSecretValue: %v", err)
	}
	put.SecretString = aws.String("c")
	if _, err := c.PutSecretValue(ctx, put); !errors.As(err, &re) {
		t.Fatalf("same token, other value: %v", err)
	}

	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	if code := apiCode(t, err); code != "ResourceNotFoundException" {
		t.Fatalf("missing secret: %s", code)
	}
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("k")})
	if code := apiCode(t, err); code != "InvalidParameterException" {
		t.Fatalf("PutSecretValue without a value: %s", code)
	}
}

func TestSecretsManagerRequiresSignedJSON(t *testing.T) {
	t.Parallel()
	sm := secretstest.NewSecretsManager(t)
	req, _ := http.NewRequest(http.MethodPost, sm.URL()+"/", strings.NewReader(`{"SecretId":"k"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"__type":"MissingAuthenticationTokenException"`) {
		t.Fatalf("unsigned request: %d %s", resp.StatusCode, body)
	}
	if n := len(sm.Requests()); n != 1 {
		t.Fatalf("recorded %d requests", n)
	}
}
