package rotation_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// The deploy command's environment: what an env:// reference or a keystore's
// password-env names is gone, so is any value holding 64 hex digits in a row, and
// the credentials that stay are registered with the scrubber.
func TestDeployEnv(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("3c", 32)
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/op", "KUBECONFIG=/home/op/.kube/config",
		"RELAYER_PRIVATE_KEY=0x" + key, "TREASURY_KEY=not-hex-but-named", "KS_PASSWORD=hunter2hunter2",
		"OTHER=prefix-" + key + "-suffix", "NOTES=a tx hash 0x" + key + " here",
		"VAULT_TOKEN=hvs.CAESIJ7vrwxTestToken0123", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYvrwxTEST",
		"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEvrwxSESSION", "AWS_REGION=us-east-1",
		"AWS_SHARED_CREDENTIALS_FILE=/home/op/.aws/credentials", "GOOGLE_APPLICATION_CREDENTIALS=/home/op/gcp.json",
	}
	got := rotation.DeployEnv(environ, []string{"env://TREASURY_KEY", "keystore:///k/relayer.json?password-env=KS_PASSWORD", "", "nonsense"})
	want := []string{"PATH=/usr/bin", "HOME=/home/op", "KUBECONFIG=/home/op/.kube/config",
		"VAULT_TOKEN=hvs.CAESIJ7vrwxTestToken0123", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYvrwxTEST",
		"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEvrwxSESSION", "AWS_REGION=us-east-1",
		"AWS_SHARED_CREDENTIALS_FILE=/home/op/.aws/credentials", "GOOGLE_APPLICATION_CREDENTIALS=/home/op/gcp.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("DeployEnv =\n%q\nwant\n%q", got, want)
	}
	shown := redact.Text("VAULT_TOKEN=hvs.CAESIJ7vrwxTestToken0123 AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYvrwxTEST AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEvrwxSESSION AWS_REGION=us-east-1")
	for _, secret := range []string{"CAESIJ7vrwx", "wJalrXUtnFEMI", "IQoJb3JpZ2lu"} {
		if strings.Contains(shown, secret) {
			t.Errorf("a credential that stays is not registered with the scrubber: %q", shown)
		}
	}
	if !strings.Contains(shown, "AWS_REGION=us-east-1") {
		t.Errorf("a setting that is no credential was scrubbed: %q", shown)
	}
	// Where a credential is (a file, a socket) is a path, not the credential: it is
	// not registered, or every mention of its directory would vanish.
	if p := "/home/op/.aws/credentials and /home/op/gcp.json"; redact.Text(p) != p {
		t.Errorf("a credential file's path was registered: %q", redact.Text(p))
	}
}

// The hook runs with exactly the environment it is given.
func TestExecHookEnvironment(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := rotation.ExecHook(context.Background(), []string{"sh", "-c", `echo "[$ONLY][$HOME][$RELAYER_PRIVATE_KEY]"`}, []string{"ONLY=this"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "  | [this][][]\n" {
		t.Fatalf("the hook saw %q", got)
	}
}
