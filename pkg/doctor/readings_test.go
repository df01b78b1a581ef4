package doctor

// Built readings for the judges' tests: a healthy system on the production
// profile's thresholds, which each case then breaks in one place. The judges read
// nothing, so these tests run in microseconds; pkg/cli/status and pkg/cli/doctor
// prove on anvil that the real readings reach them.

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/units"
)

var (
	relayerAddr = common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	otherAddr   = common.HexToAddress("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65")
	escrowAddr  = common.HexToAddress("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
	registry    = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	// now is the clock of every judge in these tests.
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func eth(s string) *big.Int  { return amount(s + "ether") }
func gwei(s string) *big.Int { return amount(s + "gwei") }

func amount(s string) *big.Int {
	v, err := units.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return v
}

// production is the built-in profile's thresholds (pkg/config's defaults) with
// MAX_FEE_PER_GAS_GWEI at 50.
func production() SystemThresholds {
	return SystemThresholds{
		Relayer: RelayerThresholds{BalanceWarn: eth("0.2"), BalanceCrit: eth("0.05"), GasWarn: gwei("50"), GasCrit: gwei("100"),
			MaxFeeCap: gwei("50"), HeadAgeWarn: 2 * time.Minute, HeadAgeCrit: 10 * time.Minute},
		DLQWarn: 10, DLQCrit: 50,
		APILatencyWarn: 2 * time.Second, APILatencyCrit: 5 * time.Second,
		RPCLagWarn: 5, RPCLagCrit: 50,
		BackupAgeWarn: 2 * time.Hour, BackupAgeCrit: 25 * time.Hour,
		ReplicaAgeWarn: 15 * time.Minute, ReplicaAgeCrit: time.Hour,
		RunwayWarn: 7 * 24 * time.Hour, RunwayCrit: 2 * 24 * time.Hour,
	}
}

// healthy is a system with nothing wrong: 1 ETH on the relayer that spent 0.01 ETH
// in 5 transactions over the last day (100 days of runway), 1 gwei fees, a fresh
// head, two RPCs level, the API relaying from the relayer on the profile's chain,
// the store's current key the same, 3 DLQ rows and an hour-old backup.
func healthy() System {
	api := relayerAddr
	return System{
		ChainID: 31337, Relayer: relayerAddr, RelayerFrom: "profile relayer", Now: now,
		Readings: monitor.Readings{
			At:    now,
			Chain: monitor.Chain{Up: true, RPC: "http://rpc-a", ChainID: 31337},
			Gas:   monitor.Gas{Price: gwei("1"), BaseFee: gwei("1")},
			Head:  monitor.Head{Number: 1000, Time: now.Add(-2 * time.Second)},
			Relayers: []monitor.Relayer{{Address: relayerAddr, Balance: eth("1"), NonceLatest: 10, NoncePending: 10,
				Spend: &monitor.Spend{Block: 900, Time: now.Add(-2*time.Second - 24*time.Hour), Balance: eth("1.01"), Nonce: 5}}},
			Escrow: &monitor.Escrow{Address: escrowAddr, JobCount: big.NewInt(12)},
			RPCs: []monitor.RPC{
				{Index: 0, URL: "http://rpc-a", Up: true, Head: 1000, Latency: 3 * time.Millisecond},
				{Index: 1, URL: "http://rpc-b", Up: true, Head: 1000, Latency: 5 * time.Millisecond},
			},
			API: &monitor.API{URL: "http://api", Up: true, Latency: 20 * time.Millisecond,
				Health: &health.Health{Status: "ok", RelayMode: "relay", RelayerAddress: &api, ChainID: 31337}},
			Contracts: &monitor.Contracts{Escrow: escrowAddr, Code: []byte{0x60, 0x80}, Paused: word(0),
				Identity: &registry, IdentityCode: []byte{0x60, 0x80}},
			Store: &monitor.Store{Ref: "aws-sm://relayer", Address: relayerAddr},
			DLQ: &monitor.DLQ{Path: "/data/vrwx.db", Summary: dlq.Summary{Depth: 3, UnresolvedByType: map[string]int64{"TX_FAIL": 3},
				OldestUnresolvedID: 4, OldestUnresolvedAge: time.Hour}},
			Backup: &monitor.Backup{Location: "s3://backups/vrwx", Newest: &sqlitebackup.Entry{Name: "vrwx-20260301T110000Z.db.gz", Age: time.Hour}},
		},
	}
}

// relayer returns the system's (first) relayer reading to change.
func (s *System) relayer() *monitor.Relayer { return &s.Readings.Relayers[0] }

func word(v int64) []byte { return common.LeftPadBytes(big.NewInt(v).Bytes(), 32) }

// pendingTx is a transaction of the relayer waiting in the txpool with a fee cap.
func pendingTx(nonce uint64, feeCap *big.Int) history.Tx {
	return history.Tx{Hash: common.BigToHash(big.NewInt(int64(nonce) + 0xabc)), From: relayerAddr, Nonce: nonce, FeeCap: feeCap, State: history.Pending}
}

// find returns the check section/name, failing the test without it.
func find(t *testing.T, checks []Check, section, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Section == section && c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s/%s check in:\n%s", section, name, listChecks(checks))
	return Check{}
}

func has(checks []Check, section, name string) bool {
	for _, c := range checks {
		if c.Section == section && c.Name == name {
			return true
		}
	}
	return false
}

func listChecks(checks []Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("  " + c.Section + "/" + c.Name + " " + string(c.Level) + " " + c.Value + " · " + c.Detail)
		if c.Fix != "" {
			b.WriteString(" · fix: " + c.Fix)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// want is what an operator reads on one line of the report: its level, its value
// (exactly, when given) and words its detail and fix must hold; noFix says the line
// must offer none.
type want struct {
	section, name string
	level         Level
	value         string
	detail        []string
	fix           []string
	noFix         bool
}

func (w want) check(t *testing.T, checks []Check) {
	t.Helper()
	c := find(t, checks, w.section, w.name)
	if c.Level != w.level || (w.value != "" && c.Value != w.value) {
		t.Errorf("%s/%s: %s %q, want %s %q (%s)", w.section, w.name, c.Level, c.Value, w.level, w.value, c.Detail)
	}
	for _, d := range w.detail {
		if !strings.Contains(c.Detail, d) {
			t.Errorf("%s/%s: detail %q lacks %q", w.section, w.name, c.Detail, d)
		}
	}
	if w.noFix && c.Fix != "" {
		t.Errorf("%s/%s: fix %q, want none", w.section, w.name, c.Fix)
	}
	for _, f := range w.fix {
		if !strings.Contains(c.Fix, f) {
			t.Errorf("%s/%s: fix %q lacks %q", w.section, w.name, c.Fix, f)
		}
	}
}
