package chain

import "strings"

// nodeSays reports whether err's text holds any of phrases (lower case), ignoring
// case.
//
// A node's JSON-RPC error is a code and a message, and nodes and providers agree on
// the words more than on the codes: geth, Erigon, reth, anvil and the hosted RPCs
// each have their own code for "execution reverted", "nonce too low" or a log span
// that is too large, and a transport failure that lost its type along the way is
// only its text. This is the one place vrwxctl decides by an error's words: what it
// learns here leaves pkg/chain as a kind, a sentinel or a type (*SimulationError,
// *SendError), so nothing above reads a message (TestNoDecisionByErrorText in
// pkg/cli allows this function alone).
func nodeSays(err error, phrases ...string) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, p := range phrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// IsRevert reports whether a node's answer to a call says it reverted (with or
// without revert data).
func IsRevert(err error) bool { return nodeSays(err, "revert") }
