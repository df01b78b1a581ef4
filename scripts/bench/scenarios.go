package main

import (
	"context"
	"fmt"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// jobsSig is cast's signature string for the jobs getter, as the runbook types it.
const jobsSig = "jobs(uint256)(address,bytes32,bytes32,uint256,uint256,uint8,bytes32,uint256,uint256,uint8,uint32)"

// Scenarios lists the comparisons. Each issue that replaces a runbook step adds its own.
func Scenarios(bin, cast string, a *devchain.Anvil, d *devchain.Deployment, env []string) []Scenario {
	relayer := d.Relayer.Hex()
	escrow := d.Escrow.Hex()
	funded := strconv.FormatUint(d.Jobs[devchain.JobFunded], 10)
	const listJobs = 1000
	completions := 15
	return []Scenario{
		{Name: "start-up: vrwxctl --help", Goal: "< 10 ms", VRWX: []string{"--help"}, Ref: true},
		{Name: "start-up: vrwxctl version", Goal: "< 10 ms", VRWX: []string{"version"}, Ref: true},
		{Name: "wallet balance vs cast balance", Goal: "ratio <= 0.6, RSS <= 18 MiB",
			VRWX: []string{"wallet", "balance", relayer, "--wei"}, Baseline: []string{cast, "balance", relayer, "--rpc-url", a.URL}, Ref: true},
		{Name: "status (whole system: chain in 2 round trips, API) vs cast balance", Goal: "informational",
			VRWX: []string{"status", "--address", relayer}, Baseline: []string{cast, "balance", relayer, "--rpc-url", a.URL}},
		{Name: "job get (job + robot + token) vs cast call jobs", Goal: "ratio <= 1.0",
			VRWX: []string{"job", "get", funded, "-o", "json"}, Baseline: []string{cast, "call", escrow, jobsSig, funded, "--rpc-url", a.URL}},
		{Name: fmt.Sprintf("job list %d jobs vs shell loop of cast call", listJobs), Goal: "ratio <= 0.01 (>= 100x)", Runs: 1,
			Setup: func(ctx context.Context) error {
				return devchain.SeedJobs(ctx, a.URL, d, listJobs-len(d.Jobs))
			},
			VRWX:     []string{"job", "list", "-o", "json"},
			Baseline: []string{"sh", "-c", fmt.Sprintf(`for i in $(seq 1 %d); do %s call %s '%s' $i --rpc-url %s >/dev/null || exit 1; done`, listJobs, cast, escrow, jobsSig, a.URL)}},
		completeScenario(cast, a, d, escrow, completions),
	}
}

// completeScenario submits completions for seeded FUNDED jobs: vrwxctl job complete
// --yes (six preflight checks, simulation, send, receipt) against the runbook's cast
// send with the same arguments, each on its own job.
func completeScenario(cast string, a *devchain.Anvil, d *devchain.Deployment, escrow string, runs int) Scenario {
	type arg struct{ id, hash, sig string }
	var args []arg
	relayerKey := devchain.DevKeyHex(devchain.AccountRelayer)
	return Scenario{
		Name: "job complete --yes vs cast send submitCompletionV2", Goal: "ratio <= 1.2", Runs: runs,
		Env: []string{"RELAYER_PRIVATE_KEY=" + relayerKey},
		Setup: func(ctx context.Context) error {
			c := chain.New(chain.Options{URLs: []string{a.URL}, ChainID: d.ChainID})
			defer c.Close()
			b := c.NewBatch()
			count := b.Call(d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "jobCount"), chain.Latest)
			if err := b.Do(ctx); err != nil || count.Err() != nil {
				return fmt.Errorf("jobCount: %v %v", err, count.Err())
			}
			first := new(big.Int).SetBytes(count.Value).Int64() + 1
			if err := devchain.SeedJobs(ctx, a.URL, d, 2*runs); err != nil {
				return err
			}
			for i := 0; i < 2*runs; i++ {
				id := uint64(first) + uint64(i)
				cp, err := devchain.SignJobCompletion(ctx, d, id, crypto.Keccak256Hash([]byte(fmt.Sprintf("bench-%d", i))), 100, 12,
					devchain.DevKey(devchain.AccountActiveController), d.ChainID, d.Escrow)
				if err != nil {
					return err
				}
				args = append(args, arg{strconv.FormatUint(id, 10), cp.CompletionHash.Hex(), hexutil.Encode(cp.Signature)})
			}
			return nil
		},
		Next: func(i int) ([]string, []string) {
			v, b := args[2*i], args[2*i+1]
			return []string{"job", "complete", v.id, "--completion-hash", v.hash, "--quality", "100", "--work-units", "12", "--sig", v.sig,
					"--signer", "env://RELAYER_PRIVATE_KEY", "--yes"},
				[]string{cast, "send", escrow, "submitCompletionV2(uint256,bytes32,uint8,uint32,bytes)", b.id, b.hash, "100", "12", b.sig,
					"--rpc-url", a.URL, "--private-key", relayerKey}
		},
	}
}
