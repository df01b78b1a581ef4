// Command freeport prints free TCP ports on 127.0.0.1, one per line: the demo's
// chain and API stand-in run on them, so the tour never collides with a chain or an
// API already running on the default ports. All the ports are held open together
// until printed, so they differ from each other.
//
//	go run ./scripts/freeport [N]   (N ports, default 1)
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

func main() {
	n := 1
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 1 || v > 100 {
			fmt.Fprintf(os.Stderr, "freeport: %q is not a count of ports (expected 1 to 100)\n", os.Args[1])
			os.Exit(2)
		}
		n = v
	}
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(os.Stderr, "freeport: %v\n", err)
			os.Exit(1)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
}
