// Command vrwxctl operates the VRWX relayer; see `vrwxctl --help`.
package main

import (
	"os"

	"github.com/vrwx/vrwxctl/pkg/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
