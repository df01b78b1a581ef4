//go:build !vrwxctl_testhooks

package key

// killAt is the rotation's checkpoint hook. The release build has none: the crash
// tests' self-SIGKILL (killat_testhooks.go) exists only in binaries built with the
// vrwxctl_testhooks tag, which the tests build and `make build` does not.
func killAt(func(string) (string, bool)) func(string) { return nil }
