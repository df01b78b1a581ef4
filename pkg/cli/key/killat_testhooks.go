//go:build vrwxctl_testhooks

package key

import (
	"os"
	"syscall"
)

// killAtEnv names a rotation checkpoint (see rotation.Options.Checkpoint) at which
// the process SIGKILLs itself. It exists for the crash tests, which must stop the
// real binary exactly at a step boundary, and only in their build (the
// vrwxctl_testhooks tag): a release binary does not know the variable.
const killAtEnv = "VRWXCTL_ROTATE_KILL_AT"

// killAt returns the checkpoint that SIGKILLs this process at the point named by
// killAtEnv (nil when it is unset).
func killAt(lookup func(string) (string, bool)) func(string) {
	if lookup == nil {
		return nil
	}
	at, ok := lookup(killAtEnv)
	if !ok || at == "" {
		return nil
	}
	return func(point string) {
		if point == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
