// Command vrwxctl-litestream is the litestream engine vrwxctl runs to read a
// litestream replica: describe it, or restore it into a file. It links litestream
// (pkg/litereplica), which vrwxctl itself does not, so that vrwxctl's start-up does
// not pay litestream's package initialisation. It speaks JSON on stdout, one
// document per run, and is not meant to be run by hand.
//
//	vrwxctl-litestream describe TARGET-JSON
//	vrwxctl-litestream restore TARGET-JSON OUTPUT [RFC3339-TIME]
//	vrwxctl-litestream version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/buildinfo"
	"github.com/vrwx/vrwxctl/pkg/litereplica"
	"github.com/vrwx/vrwxctl/pkg/litereplica/wire"
)

func main() {
	caBundle()
	// litestream's restore keeps an index of every page it writes, and with the
	// default GC a 1 GB restore peaked at 138 MiB (litestream's own CLI: 155-160
	// MiB). A soft limit makes the collector keep up: 78 MiB in the same time. What
	// remains grows with the database (the index), about 50 MB per GB.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := run(ctx, os.Args[1:])
	enc := json.NewEncoder(os.Stdout)
	if err != nil {
		f := wire.Failure{Error: err.Error(), Kind: wire.KindFailed}
		switch {
		case errors.Is(err, litereplica.ErrV3):
			f.Kind = wire.KindV3
		case errors.Is(err, litereplica.ErrEmpty):
			f.Kind = wire.KindEmpty
		case errors.Is(err, litereplica.ErrNotReachable):
			f.Kind = wire.KindNotReachable
		case errors.Is(err, errUsage):
			f.Kind = wire.KindUsage
		}
		_ = enc.Encode(f)
		os.Exit(1)
	}
	_ = enc.Encode(out)
}

var errUsage = errors.New("usage: vrwxctl-litestream describe TARGET-JSON | restore TARGET-JSON OUTPUT [RFC3339-TIME] | version")

func run(ctx context.Context, args []string) (any, error) {
	if len(args) == 1 && args[0] == "version" {
		return map[string]string{"vrwxctl": buildinfo.Version, "litestream": litestreamVersion()}, nil
	}
	if len(args) < 2 {
		return nil, errUsage
	}
	var t litereplica.Target
	if err := json.Unmarshal([]byte(args[1]), &t); err != nil {
		return nil, fmt.Errorf("%w: target: %v", errUsage, err)
	}
	switch {
	case args[0] == "describe" && len(args) == 2:
		return litereplica.Describe(ctx, t)
	case args[0] == "restore" && (len(args) == 3 || len(args) == 4):
		var at time.Time
		if len(args) == 4 {
			var err error
			if at, err = time.Parse(time.RFC3339Nano, args[3]); err != nil {
				return nil, fmt.Errorf("%w: time: %v", errUsage, err)
			}
		}
		return litereplica.Restore(ctx, t, args[2], at)
	}
	return nil, errUsage
}

// litestreamVersion is the litestream module this binary was built with.
func litestreamVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/benbjohnson/litestream" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// caBundle keeps AWS_CA_BUNDLE working: litestream's S3 client hands the AWS SDK an
// *http.Client of its own, and the SDK then refuses the bundle ("unable to add
// custom RootCAs"). Go's own root set read from the same file (SSL_CERT_FILE,
// read on the first TLS connection) trusts what the operator asked to trust.
func caBundle() {
	if b := os.Getenv("AWS_CA_BUNDLE"); b != "" {
		_ = os.Setenv("SSL_CERT_FILE", b)
		_ = os.Unsetenv("AWS_CA_BUNDLE")
	}
}
