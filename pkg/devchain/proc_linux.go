//go:build linux

package devchain

import "syscall"

// childAttrs puts anvil in its own process group (so Stop can kill the group) and asks
// the kernel to kill it if the test process dies without running its cleanups.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
