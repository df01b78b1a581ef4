package doctor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// The five causes of the runbook's "Relay Transaction Failures" table, in the
// order doctor relay rules them out.
var runbookCauses = []string{causeOutOfGas, causeGasPrices, causePaused, causeRPC, causeSignatures}

// relayJudge is doctor relay with the production thresholds and a fixed clock.
func relayJudge() *Relay {
	return &Relay{ChainID: 31337, RelayerFrom: "profile relayer", Thresholds: production(), Now: func() time.Time { return now }}
}

// relayReport is what doctor relay reads of the healthy system: one completion
// mined in the window, the escrow's events, an empty txpool.
func relayReport(s System) *RelayReport {
	return &RelayReport{Readings: s.Readings, Relayer: relayerAddr, From: 901, To: 1000,
		History: &history.Result{Address: relayerAddr, From: 901, To: 1000, Source: "otterscan",
			Mined: []history.Tx{completionTx(9, 7, history.Success, nil)}, Pool: history.Pool{Known: true}},
		Events: map[string]int{"CompletionSubmitted": 1, "JobFunded": 2}}
}

// completionTx is the relayer's submitCompletionV2 of job, mined in block 950+nonce.
func completionTx(nonce uint64, job int64, state history.State, revert *vrwx.ContractError) history.Tx {
	input := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", big.NewInt(job), [32]byte{1}, uint8(100), uint32(12), make([]byte, 65))
	return history.Tx{Hash: common.BigToHash(big.NewInt(int64(nonce) + 0xf00)), From: relayerAddr, Nonce: nonce, To: &escrowAddr,
		Input: input, State: state, Block: 950 + nonce, Revert: revert}
}

func contractError(t *testing.T, name string) *vrwx.ContractError {
	t.Helper()
	e := vrwx.ErrorByName(name)
	if e == nil {
		t.Fatalf("no contract error %s", name)
	}
	return e
}

func causeNames(cs []Cause) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// A healthy relayer: nothing to blame, every cause of the runbook's table ruled
// out by the reading that rules it out, and the note that the DLQ was not read.
func TestRelayHealthyRulesOutTheRunbooksCauses(t *testing.T) {
	rep := relayReport(healthy())
	relayJudge().judge(rep, true)
	if len(rep.Causes) != 0 || Worst(rep.Checks) != OK {
		t.Fatalf("causes %+v, worst %s:\n%s", rep.Causes, Worst(rep.Checks), listChecks(rep.Checks))
	}
	if got := causeNames(rep.RuledOut); !slices.Equal(got, runbookCauses) {
		t.Fatalf("ruled out %q, want %q", got, runbookCauses)
	}
	for i, ev := range []string{"balance 1 ETH", "fee cap 50 gwei above the base fee", "paused() false", "2 RPC URL(s) up, none lagging",
		"no recent transaction reverted on a signature or an unregistered robot"} {
		c := rep.RuledOut[i]
		if c.Level != OK || len(c.Evidence) != 1 || c.Evidence[0] != ev+"; the DLQ was not read (no database: --db or DATABASE_PATH)" {
			t.Errorf("%s ruled out by %q, want %q and the DLQ note", c.Name, c.Evidence, ev)
		}
	}
	for _, w := range []want{
		{section: "transactions", name: "recent", level: OK, value: "1 mined, 0 reverted", detail: []string{"sent by " + relayerAddr.Hex() + " in blocks 901..1000 (Otterscan index)"}},
		{section: "events", name: "escrow events", level: Info, value: "3 in blocks 901..1000", detail: []string{"CompletionSubmitted 1, JobFunded 2"}},
	} {
		w.check(t, rep.Checks)
	}
	if has(rep.Checks, "dlq", "recent failures") {
		t.Error("a DLQ line without a database")
	}
	// The txpool read with the history is judged with the relayer's nonces.
	if p := rep.Readings.Relayers[0].Pool; p == nil || !p.Known {
		t.Errorf("the relayer's txpool is not the history's: %+v", p)
	}
}

// Each piece of evidence points to its cause, ranked strongest first, with the fix
// an operator runs; the causes of the runbook's table without evidence are ruled
// out.
func TestRelayCausesRankedByEvidence(t *testing.T) {
	reverted := func(t *testing.T, nonce uint64, job int64, name string) history.Tx {
		return completionTx(nonce, job, history.Reverted, contractError(t, name))
	}
	for _, c := range []struct {
		name     string
		change   func(t *testing.T, r *RelayReport)
		causes   []string // in rank order
		level    Level    // of the first
		evidence []string // of the first
		fix      []string // of the first
	}{
		{"out of gas", func(_ *testing.T, r *RelayReport) {
			r.Readings.Relayers[0].Balance, r.Readings.Relayers[0].Spend = eth("0.01"), nil
		}, []string{causeOutOfGas}, Crit,
			[]string{"balance 0.01 ETH (" + relayerAddr.Hex() + " · warning below 0.2 ETH, critical below 0.05 ETH)"},
			[]string{"runbook: relayer out of gas — top up immediately: vrwxctl wallet fund --to " + relayerAddr.Hex()}},
		{"a runway of hours is the same cause", func(_ *testing.T, r *RelayReport) {
			r.Readings.Relayers[0].Spend.Balance = eth("10")
		}, []string{causeOutOfGas}, Crit, []string{"runway 0.1 days at 9 ETH/day"}, []string{"top up before it runs out"}},
		{"the fee cap below the base fee", func(_ *testing.T, r *RelayReport) {
			r.Readings.Gas.BaseFee = gwei("60")
		}, []string{causeGasPrices}, Crit,
			[]string{"base fee 60 gwei is at or above MAX_FEE_PER_GAS_GWEI: relay transactions cannot be mined", "base fee 60 gwei"},
			[]string{"increase MAX_FEE_PER_GAS_GWEI"}},
		{"a stuck transaction", func(_ *testing.T, r *RelayReport) {
			r.Readings.Gas.BaseFee = gwei("3")
			r.Readings.Relayers[0].NoncePending = 11
			r.History.Pool = history.Pool{Known: true, Pending: []history.Tx{pendingTx(10, gwei("2"))}}
		}, []string{causeGasPrices}, Crit, []string{"stuck: fee cap below the base fee 3 gwei"}, []string{"vrwxctl tx speedup --nonce 10"}},
		{"a transaction waiting", func(_ *testing.T, r *RelayReport) {
			r.Readings.Relayers[0].NoncePending = 11
		}, []string{causeGasPrices}, Warn, []string{"1 transaction(s) waiting in the mempool (nonces 10..10)"}, []string{"tx speedup --nonce 10"}},
		{"a nonce gap", func(_ *testing.T, r *RelayReport) {
			r.History.Pool = history.Pool{Known: true, Queued: []history.Tx{pendingTx(12, gwei("2"))}}
		}, []string{causeNonceGap}, Crit, []string{"nonces 10..11 never reached the node"}, []string{"fill nonces 10..11"}},
		{"the escrow paused", func(_ *testing.T, r *RelayReport) {
			r.Readings.Contracts.Paused = word(1)
		}, []string{causePaused}, Crit, []string{"the escrow's paused() is true"}, []string{"contact the admin to unpause"}},
		{"the first RPC down", func(_ *testing.T, r *RelayReport) {
			r.Readings.RPCs[0] = monitor.RPC{Index: 0, URL: "http://rpc-a", Err: errors.New("connection refused")}
		}, []string{causeRPC}, Warn, []string{"RPC #0 (first): down"}, []string{"switch to the backup RPC"}},
		{"the API relaying from another key", func(_ *testing.T, r *RelayReport) {
			r.Readings.API.Health.RelayerAddress = &otherAddr
		}, []string{causeAPI}, Crit, []string{"relayerAddress " + otherAddr.Hex(), "a rotation half done"}, []string{"kubectl rollout restart deployment/vrwx-api"}},
		{"the API down", func(_ *testing.T, r *RelayReport) {
			r.Readings.API = &monitor.API{URL: "http://api", Err: errors.New("connection refused")}
		}, []string{causeAPI}, Crit, []string{"/health down"}, []string{"kubectl get pods"}},
		{"a completion reverted InvalidSignature", func(t *testing.T, r *RelayReport) {
			r.History.Mined = append([]history.Tx{reverted(t, 10, 7, "InvalidSignature")}, r.History.Mined...)
		}, []string{causeSignatures}, Warn,
			[]string{completionTx(10, 7, "", nil).Hash.Hex() + " submitCompletionV2(job 7) (nonce 10, block 960) reverted: "},
			[]string{"runbook: check IdentityRegistry state — vrwxctl doctor signature ROBOT --job 7 --completion-hash … --quality … --work-units … --sig …", "vrwxctl dlq list --type TX_FAIL"}},
		{"a transfer reverted RobotNotFound", func(t *testing.T, r *RelayReport) {
			tx := reverted(t, 10, 7, "RobotNotFound")
			tx.Input = nil
			r.History.Mined = []history.Tx{tx}
		}, []string{causeSignatures}, Warn, []string{" transfer (nonce 10"}, []string{"vrwxctl doctor signature ROBOT"}},
		{"a completion reverted EnforcedPause", func(t *testing.T, r *RelayReport) {
			r.History.Mined = []history.Tx{reverted(t, 10, 7, "EnforcedPause")}
		}, []string{causePaused}, Warn, []string{"submitCompletionV2(job 7)"}, []string{"contact the admin to unpause"}},
		{"a completion past its deadline", func(t *testing.T, r *RelayReport) {
			r.History.Mined = []history.Tx{reverted(t, 10, 7, "DeadlinePassed")}
		}, []string{causeRejected}, Warn, []string{"reverted: "}, []string{"vrwxctl dlq resolve ID --as SKIPPED"}},
		{"a completion out of gas", func(_ *testing.T, r *RelayReport) {
			tx := completionTx(10, 7, history.Reverted, nil)
			tx.RevertNote = "ran out of gas (used 300000 of 300000)"
			r.History.Mined = []history.Tx{tx}
		}, []string{causeGasLimit}, Warn, []string{"reverted: ran out of gas"}, []string{"raise GAS_LIMIT_MULTIPLIER"}},
		{"a revert of no known reason", func(_ *testing.T, r *RelayReport) {
			r.History.Mined = []history.Tx{completionTx(10, 7, history.Reverted, nil)}
		}, []string{causeRejected}, Warn, []string{"reverted: reason unknown"}, []string{"vrwxctl tx status HASH"}},
		{"out of gas outranks a signature revert, which outranks a backup RPC down", func(t *testing.T, r *RelayReport) {
			r.Readings.Relayers[0].Balance, r.Readings.Relayers[0].Spend = eth("0.01"), nil
			r.Readings.RPCs[1] = monitor.RPC{Index: 1, URL: "http://rpc-b", Err: errors.New("timeout")}
			r.History.Mined = []history.Tx{reverted(t, 10, 7, "InvalidSignature")}
		}, []string{causeOutOfGas, causeSignatures, causeRPC}, Crit, nil, nil},
		{"equal evidence ranks by name", func(_ *testing.T, r *RelayReport) {
			r.Readings.Contracts.Paused = word(1)
			r.History.Pool = history.Pool{Known: true, Queued: []history.Tx{pendingTx(11, gwei("2"))}}
		}, []string{causePaused, causeNonceGap}, Crit, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := relayReport(healthy())
			c.change(t, rep)
			relayJudge().judge(rep, true)
			if got := causeNames(rep.Causes); !slices.Equal(got, c.causes) {
				t.Fatalf("causes %q, want %q:\n%s", got, c.causes, listChecks(rep.Checks))
			}
			first := rep.Causes[0]
			if first.Level != c.level {
				t.Errorf("%s: level %s, want %s", first.Name, first.Level, c.level)
			}
			ev := strings.Join(first.Evidence, " | ")
			for _, e := range c.evidence {
				if !strings.Contains(ev, e) {
					t.Errorf("%s: evidence %q lacks %q", first.Name, ev, e)
				}
			}
			for _, f := range c.fix {
				if !strings.Contains(first.Fix, f) {
					t.Errorf("%s: fix %q lacks %q", first.Name, first.Fix, f)
				}
			}
			for i := 1; i < len(rep.Causes); i++ {
				if rep.Causes[i].Score > rep.Causes[i-1].Score {
					t.Errorf("%s (%d) ranked below %s (%d)", rep.Causes[i].Name, rep.Causes[i].Score, rep.Causes[i-1].Name, rep.Causes[i-1].Score)
				}
			}
			// A cause is either found or ruled out, never both.
			for _, n := range runbookCauses {
				if slices.Contains(causeNames(rep.Causes), n) == slices.Contains(causeNames(rep.RuledOut), n) {
					t.Errorf("%s: found %v, ruled out %v", n, causeNames(rep.Causes), causeNames(rep.RuledOut))
				}
			}
		})
	}
}

// The relayer's reverted transactions are listed, each with its decoded reason and
// the contract error's fix; what the search could not read is said.
func TestRelayTransactionChecks(t *testing.T) {
	rep := relayReport(healthy())
	sig := completionTx(10, 7, history.Reverted, contractError(t, "InvalidSignature"))
	rep.History.Mined = append([]history.Tx{sig}, rep.History.Mined...)
	rep.History.Source, rep.History.More = "scan", true
	rep.History.Notes = []string{"receipts of block 960 did not come"}
	relayJudge().judge(rep, true)
	for _, w := range []want{
		{section: "transactions", name: "recent", level: OK, value: "2 mined, 1 reverted", detail: []string{"(nonce scan); the newest 2 shown"}},
		{section: "transactions", name: "nonce 10", level: Warn, value: "reverted: InvalidSignature",
			detail: []string{sig.Hash.Hex() + " submitCompletionV2(job 7) in block 960: "}, fix: []string{contractError(t, "InvalidSignature").Fix}},
		{section: "transactions", name: "note", level: Info, value: "incomplete", detail: []string{"receipts of block 960 did not come"}},
	} {
		w.check(t, rep.Checks)
	}

	rep = relayReport(healthy())
	rep.History.Mined = nil
	relayJudge().judge(rep, true)
	want{section: "transactions", name: "recent", level: Info, value: "none"}.check(t, rep.Checks)
}

// The escrow's events in the window, or why they are not there.
func TestRelayEventsCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(r *RelayReport)
		want   want
	}{
		{"no escrow", func(r *RelayReport) { r.Readings.Escrow = nil }, want{value: "not read", detail: []string{"no escrow configured"}}},
		{"unreadable", func(r *RelayReport) { r.EventsErr = errors.New("query returned more than 10000 results") },
			want{value: "unreadable", detail: []string{"more than 10000 results"}}},
		{"none", func(r *RelayReport) { r.Events = map[string]int{} },
			want{value: "0 in blocks 901..1000", detail: []string{"no escrow activity in the window: nothing was created, funded or completed"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := relayReport(healthy())
			c.change(rep)
			w := c.want
			w.section, w.name, w.level = "events", "escrow events", Info
			w.check(t, []Check{eventsCheck(rep)})
		})
	}
}

// With the chain unreadable, doctor relay judges what it has: the RPC lines say
// it once, first, and are the cause; what needs the chain is not read, and the
// causes it would have shown are neither likely nor ruled out; no transactions or
// events are claimed.
func TestRelayWithoutTheChain(t *testing.T) {
	s := healthy()
	down := errors.New("all RPC URLs failed: connection refused")
	s.Readings.Chain = monitor.Chain{Err: down}
	s.Readings.Head = monitor.Head{Err: down}
	s.Readings.Gas = monitor.Gas{Err: down}
	s.Readings.Relayers[0] = monitor.Relayer{Address: relayerAddr, Err: down}
	s.Readings.RPCs = []monitor.RPC{{Index: 0, URL: "http://rpc-a", Err: down}}
	rep := &RelayReport{Readings: s.Readings, Relayer: relayerAddr, Events: map[string]int{}}
	relayJudge().judge(rep, false)
	if got := causeNames(rep.Causes); !slices.Equal(got, []string{causeRPC}) || rep.Causes[0].Level != Crit {
		t.Fatalf("causes %+v", rep.Causes)
	}
	if ev := strings.Join(rep.Causes[0].Evidence, " | "); ev != "RPC #0 (first): down" {
		t.Errorf("evidence %q", ev)
	}
	if rep.Checks[0].Section != "rpc" || rep.Checks[0].Fix == "" {
		t.Errorf("the RPC line is not first, with the fix:\n%s", listChecks(rep.Checks))
	}
	for _, c := range rep.Checks {
		if c.Section == "transactions" || c.Section == "events" {
			t.Errorf("judged without the chain: %+v", c)
		}
		if c.Level == Crit && c.Section != "rpc" {
			t.Errorf("the outage said again: %s/%s %s", c.Section, c.Name, c.Detail)
		}
	}
	if got := causeNames(rep.NotJudged); !slices.Equal(got, []string{causeOutOfGas, causeGasPrices, causePaused, causeSignatures}) {
		t.Errorf("not judged %q", got)
	}
	for _, c := range rep.NotJudged {
		if c.Level != Info || len(c.Evidence) != 1 || c.Evidence[0] != "not read: RPC down" {
			t.Errorf("not judged %+v", c)
		}
	}
	if len(rep.RuledOut) != 0 {
		t.Errorf("ruled out without the chain: %+v", rep.RuledOut)
	}
}

// fakeLogs is the chain as countEvents asks it: logs of a block range.
type fakeLogs struct {
	logs []types.Log
	err  error
	got  chain.LogQuery
}

func (f *fakeLogs) Logs(_ context.Context, q chain.LogQuery) ([]types.Log, error) {
	f.got = q
	return f.logs, f.err
}

// The escrow's logs are counted by event name; a log of no escrow event is
// counted as such, never dropped.
func TestCountEvents(t *testing.T) {
	topic := func(name string) common.Hash { return vrwx.EscrowABI().Events[name].ID }
	job := common.BigToHash(big.NewInt(7))
	funded := types.Log{Address: escrowAddr, Topics: []common.Hash{topic("JobFunded"), job}, Data: word(5)}
	completed := types.Log{Address: escrowAddr, Topics: []common.Hash{topic("CompletionSubmitted"), job}, Data: common.Hash{1}.Bytes()}
	stranger := types.Log{Address: escrowAddr, Topics: []common.Hash{common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")}}
	anonymous := types.Log{Address: escrowAddr}
	f := &fakeLogs{logs: []types.Log{funded, funded, completed, stranger, anonymous}}
	got := map[string]int{}
	if err := countEvents(context.Background(), f, escrowAddr, 901, 1000, got); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"JobFunded": 2, "CompletionSubmitted": 1, "unknown topic 0xddf252ad": 1, "unknown topic": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	if f.got.From != 901 || f.got.To != 1000 || len(f.got.Addresses) != 1 || f.got.Addresses[0] != escrowAddr {
		t.Errorf("asked %+v", f.got)
	}
	f.err = errors.New("limit exceeded")
	if err := countEvents(context.Background(), f, escrowAddr, 901, 1000, map[string]int{}); !errors.Is(err, f.err) {
		t.Errorf("error %v, want the chain's", err)
	}
}
