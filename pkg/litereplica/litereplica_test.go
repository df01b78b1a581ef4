package litereplica_test

import (
	"os/exec"
	"strings"
	"testing"
)

// litestream initialises Prometheus metrics and tables when its packages load
// (2-3 ms): vrwxctl must not link it, only the helper that reads replicas.
func TestOnlyTheHelperLinksLitestream(t *testing.T) {
	for bin, want := range map[string]bool{"github.com/vrwx/vrwxctl/cmd/vrwxctl": false, "github.com/vrwx/vrwxctl/cmd/vrwxctl-litestream": true} {
		out, err := exec.Command("go", "list", "-deps", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", bin, err, out)
		}
		links := strings.Contains(string(out), "github.com/benbjohnson/litestream\n")
		if links != want {
			t.Errorf("%s links litestream: %v, want %v", bin, links, want)
		}
		if !strings.Contains(string(out), "github.com/vrwx/vrwxctl/pkg/sqlitebackup\n") && !want {
			t.Errorf("go list -deps %s did not list pkg/sqlitebackup; the check would pass for the wrong reason", bin)
		}
	}
}
