package clitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The build directory of a test process that died (killed, timed out) is removed by
// the next one; a running process's, and one without a pid in its name, are kept.
func TestBuildsOfDeadProcessesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{ // name: kept
		fmt.Sprintf("%s%d-123", binPrefix, dead.Process.Pid): false,
		fmt.Sprintf("%s%d-456", binPrefix, os.Getppid()):     true,
		fmt.Sprintf("%s%d-789", binPrefix, os.Getpid()):      true,
		binPrefix + "2870118265":                             true,
		"other-1-2":                                          true,
	}
	for name := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, name, "tagged"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name, "vrwxctl"), []byte("binary"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeDeadBuilds()
	for name, kept := range dirs {
		_, err := os.Stat(filepath.Join(tmp, name))
		if exists := err == nil; exists != kept {
			t.Errorf("%s: exists %v, want %v", name, exists, kept)
		}
	}
}
