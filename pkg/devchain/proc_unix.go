//go:build unix

package devchain

import "syscall"

// detachedAttrs gives anvil its own session: no controlling terminal and no process
// group shared with the caller, so it survives the caller's exit and its Ctrl-C.
func detachedAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// signalGroup signals the process group led by pid (anvil runs as its own group
// leader), so nothing anvil may have started is left behind.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}
