//go:build unix && !linux

package devchain

import "syscall"

// childAttrs puts anvil in its own process group so Stop can kill the group.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
