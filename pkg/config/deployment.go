package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// DevchainDeployment is where `make devchain` writes the local chain's deployment,
// relative to the checkout it runs in: each checkout has its own chain and port.
const DevchainDeployment = ".devchain/deployment.json"

// FindDevchainDeployment returns DevchainDeployment in dir or the nearest parent that
// has one, as git finds .git: any directory of a checkout finds that checkout's
// chain. "" when there is none.
func FindDevchainDeployment(dir string) string {
	for {
		p := filepath.Join(dir, DevchainDeployment)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// checkDiscovered refuses a deployment file that was found by looking, not named
// with VRWXCTL_DEPLOYMENT, unless it is the user's own and points at the loopback:
// the local profile is the default, and a file left in some parent directory must
// not be able to send it to a real network.
func checkDiscovered(path string, d deployment) error {
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			return errs.Refusedf("local deployment file %s (found from the working directory) belongs to another user: not read", path).
				WithFix("name the deployment to use with VRWXCTL_DEPLOYMENT, or remove the file")
		}
	}
	if d.RPCURL == "" {
		return nil
	}
	if err := loopback(d.RPCURL); err != nil {
		return errs.Refusedf("local deployment file %s (found from the working directory) points the local profile at %s: %v; not read", path, d.RPCURL, err).
			WithFix("`make devchain` only writes loopback URLs: name a deployment elsewhere with VRWXCTL_DEPLOYMENT, or use --profile for a real network")
	}
	return nil
}

func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("not a loopback address")
}
