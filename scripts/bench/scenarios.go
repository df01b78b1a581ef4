package main

import (
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Scenarios lists the comparisons. Each issue that replaces a runbook step adds its own.
func Scenarios(bin, cast string, a *devchain.Anvil, d *devchain.Deployment, env []string) []Scenario {
	relayer := d.Relayer.Hex()
	return []Scenario{
		{Name: "start-up: vrwxctl --help", Goal: "< 10 ms", VRWX: []string{"--help"}},
		{Name: "start-up: vrwxctl version", Goal: "< 10 ms", VRWX: []string{"version"}},
		{Name: "wallet balance vs cast balance", Goal: "ratio <= 1.0, RSS <= 30 MiB",
			VRWX: []string{"wallet", "balance", relayer, "--wei"}, Baseline: []string{cast, "balance", relayer, "--rpc-url", a.URL}},
		{Name: "status (5 reads, 1 round trip) vs cast balance", Goal: "informational",
			VRWX: []string{"status", "--address", relayer}, Baseline: []string{cast, "balance", relayer, "--rpc-url", a.URL}},
	}
}
