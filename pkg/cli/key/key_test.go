package key_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/key"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

var hex64 = regexp.MustCompile(`(?i)(0x)?[0-9a-f]{64}`)

func noKeyShaped(t *testing.T, r clitest.Result) {
	t.Helper()
	if m := hex64.FindString(r.Stdout + r.Stderr); m != "" {
		t.Fatalf("output holds a 64-hex-character string %q:\n%s", m, r)
	}
}

// registerStoredKeys makes every key the fake Secrets Manager holds a secret the
// leak scan looks for.
func registerStoredKeys(t *testing.T, sm *secretstest.SecretsManager, name string) {
	t.Helper()
	for id := range sm.Stages(name) {
		v, ok := sm.Value(name, id)
		if !ok {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatal(err)
		}
		clitest.Secret(m["RELAYER_PRIVATE_KEY"])
	}
}

func awsEnv(t *testing.T) *secretstest.SecretsManager {
	t.Helper()
	sm := secretstest.NewSecretsManager(t)
	none := filepath.Join(t.TempDir(), "absent")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAVRWXTESTKEY00001", "AWS_SECRET_ACCESS_KEY": "vrwx-test-secret-access-key",
		"AWS_REGION": sm.Region(), "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return sm
}

func TestAWSRotationThroughTheCLI(t *testing.T) {
	e := clitest.New(t)
	sm := awsEnv(t)
	ref := "aws-sm://vrwx/test/relayer-key"

	var first, second key.GenerateJSON
	r := e.MustRun(0, "key", "generate", "--store", ref, "-o", "json")
	r.JSON(t, &first)
	registerStoredKeys(t, sm, "vrwx/test/relayer-key")
	noKeyShaped(t, r)
	if strings.Join(first.Version.Stages, ",") != "current" {
		t.Fatalf("first key in an empty secret should be current: %+v", first)
	}
	r = e.MustRun(0, "key", "generate", "--store", ref)
	registerStoredKeys(t, sm, "vrwx/test/relayer-key")
	noKeyShaped(t, r)
	second.Address = strings.TrimSpace(r.Stdout)
	if !strings.Contains(r.Stderr, "pending") || second.Address == first.Address {
		t.Fatalf("second generate should be pending with a new address:\n%s", r)
	}
	// The relayer still signs with the first key until the promote.
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout); got != first.Address {
		t.Fatalf("current address %s, want %s", got, first.Address)
	}
	var vs []key.VersionJSON
	e.MustRun(0, "key", "versions", "--store", ref, "-o", "json").JSON(t, &vs)
	if len(vs) != 2 {
		t.Fatalf("versions %+v", vs)
	}
	stages := map[string]string{}
	for _, v := range vs {
		stages[v.Address] = strings.Join(v.Stages, ",")
	}
	if stages[first.Address] != "current" || stages[second.Address] != "pending" {
		t.Fatalf("stages by address %v", stages)
	}
	// No terminal and no --yes: promote refuses.
	if r := e.Run("key", "promote", "--store", ref); r.Code != 3 {
		t.Fatalf("promote without --yes:\n%s", r)
	}
	e.MustRun(0, "key", "promote", "--store", ref, "--yes")
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout); got != second.Address {
		t.Fatalf("after promote the current address is %s, want %s", got, second.Address)
	}
	if l := sm.Stages("vrwx/test/relayer-key"); len(l) != 2 {
		t.Fatalf("AWS stages %v", l)
	}
	e.MustRun(0, "key", "rollback", "--store", ref, "--yes")
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout); got != first.Address {
		t.Fatalf("after rollback the current address is %s, want %s", got, first.Address)
	}
}

func TestFileStoreGenerate(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	p := filepath.Join(e.SecretDir, "relayer.hex")
	// Before the first key: an empty list that says so on stderr, not a bare header.
	r := e.MustRun(0, "key", "versions", "--store", "file://"+p)
	if strings.TrimSpace(r.Stdout) != "" || !strings.Contains(r.Stderr, "no key versions in file://"+p) || !strings.Contains(r.Stderr, "vrwxctl key generate --store file://"+p) {
		t.Fatalf("versions of an empty store:\n%s", r)
	}
	if r := e.MustRun(0, "key", "versions", "--store", "file://"+p, "-o", "json"); strings.TrimSpace(r.Stdout) != "[]" {
		t.Fatalf("versions -o json of an empty store: %q", r.Stdout)
	}
	r = e.MustRun(0, "key", "generate", "--store", "file://"+p)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	clitest.Secret(strings.TrimSpace(string(b)))
	info, _ := os.Stat(p)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	addr := strings.TrimSpace(r.Stdout)
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", "file://"+p).Stdout); got != addr {
		t.Fatalf("address %s, generate printed %s", got, addr)
	}
}

func TestKeyBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = "0x" + strings.Repeat("0", 64)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"key", "generate"}, 2, "--store is required"},
		{[]string{"key", "generate", "--store", "gcp://x"}, 2, "gcp"},
		{[]string{"key", "generate", "--store", "env://RELAYER_PRIVATE_KEY"}, 2, "read-only"},
		{[]string{"key", "address", "--signer", "env://RELAYER_PRIVATE_KEY"}, 2, "env://RELAYER_PRIVATE_KEY"},
		{[]string{"key", "address", "--signer", "env://NOT_SET_ANYWHERE"}, 2, "NOT_SET_ANYWHERE"},
		{[]string{"key", "versions", "--store", "aws-sm://"}, 2, "aws-sm"},
		// A reference to nothing is bad input, not a failed operation.
		{[]string{"key", "generate", "--store", "file:///no/such/dir/k"}, 2, "/no/such/dir: the directory does not exist"},
		{[]string{"key", "address", "--signer", "file://" + e.SecretDir + "/missing.hex"}, 2, "does not exist"},
		{[]string{"key", "address", "--signer", "keystore://" + e.SecretDir + "/missing.json?password-env=PW"}, 2, "does not exist"},
		// A key pasted where the path belongs is refused and never shown, not even once.
		{[]string{"key", "address", "--signer", "file://" + strings.Repeat("4c", 32)}, 2, "shape of a raw private key"},
		{[]string{"key", "address", "--signer", "file:///keys/0x" + strings.Repeat("4C", 32)}, 2, "shape of a raw private key"},
	}
	for _, tc := range cases {
		r := e.Run(tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("want exit %d mentioning %q:\n%s", tc.code, tc.want, r)
		}
		noKeyShaped(t, r)
	}
}
