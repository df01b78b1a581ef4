package dlq_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	clidlq "github.com/vrwx/vrwxctl/pkg/cli/dlq"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
)

// live is a database as the live API leaves it after failed relays on the test
// chain: TX_FAIL rows whose reasons are ethers' messages of real node answers.
type live struct {
	fx *apidbtest.Fixture
	// ids maps a case name to its row.
	ids   map[string]int64
	cases map[string]dlqtest.Case
}

// liveRows builds rows for every revert submitCompletionV2 has, and one relay
// refused for insufficient funds (a signed transaction from an unfunded key).
func liveRows(t *testing.T, e *clitest.Env, extra ...func(*dlqtest.Builder) dlqtest.Case) *live {
	t.Helper()
	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, e.D)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cases, err := b.Reverts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := crypto.GenerateKey()
	c, err := b.Controller(ctx, devchain.JobFunded, "unfunded", 92, 47)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Unfunded(ctx, key, c)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, u)
	for _, f := range extra {
		cases = append(cases, f(b))
	}
	var rows []apidbtest.TxFailRow
	now := time.Now()
	for i, c := range cases {
		r := c.Row(inspection92)
		r.CreatedAt = now.Add(-time.Duration(len(cases)-i) * time.Minute)
		rows = append(rows, r)
	}
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"),
		apidbtest.FixtureOptions{JobCompletions: 20, Payments: 5, ChainID: int64(e.D.ChainID), TxFails: rows})
	if err != nil {
		t.Fatal(err)
	}
	l := &live{fx: fx, ids: map[string]int64{}, cases: map[string]dlqtest.Case{}}
	for i, c := range cases {
		name := c.Name
		if _, dup := l.ids[name]; dup {
			name = fmt.Sprintf("%s#%d", name, i)
		}
		l.ids[name], l.cases[name] = fx.TxFailIDs[i], c
	}
	return l
}

// dlq list names the contract error each reason holds; dlq show decodes the whole
// reason — the error, the calldata, a signed transaction — and, for the signed one,
// asks the chain whether its nonce is unused and warns that it can be broadcast,
// which the test then does.
func TestListAndShowDecodeTheLiveAPIsReasons(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	l := liveRows(t, e)
	e.Vars["DATABASE_PATH"] = l.fx.Path

	var views []dlq.View
	e.MustRun(0, "dlq", "list", "--type", "TX_FAIL", "--unresolved", "--limit", "1000", "-o", "json").JSON(t, &views)
	byID := map[int64]dlq.View{}
	for _, v := range views {
		byID[v.ID] = v
	}
	for name, id := range l.ids {
		v, ok := byID[id]
		if !ok {
			t.Fatalf("%s: row %d not listed", name, id)
		}
		if got := v.Decoded.Cause(); got != l.cases[name].Name {
			t.Errorf("%s: listed cause %q", name, got)
		}
	}
	table := e.MustRun(0, "dlq", "list", "--type", "TX_FAIL", "--unresolved", "--limit", "1000")
	for _, want := range []string{"ERROR", "InvalidSignature", "DeadlinePassed", "InvalidStatus", "ECDSAInvalidSignatureS", "INSUFFICIENT_FUNDS"} {
		if !strings.Contains(table.Stdout, want) {
			t.Errorf("dlq list has no %q:\n%s", want, table.Stdout)
		}
	}

	// An estimateGas revert: the error with its fix, the calldata's values.
	sigID := l.ids["InvalidSignature"]
	c := l.cases["InvalidSignature"].Completion
	r := e.MustRun(0, "dlq", "show", fmt.Sprint(sigID))
	for _, want := range []string{"reason decoded", "InvalidSignature (0x8baa579f)", "robot verify-sig", "CALL_EXCEPTION at estimateGas (ethers 6.16.0)",
		fmt.Sprintf("submitCompletionV2(job %d, quality 100, work units 10)", c.JobID), c.CompletionHash.Hex(), hexutil.Encode(c.Signature)} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dlq show %d has no %q:\n%s", sigID, want, r.Stdout)
		}
	}

	// The signed transaction of an unfunded relay: still broadcastable, and said so.
	u := l.cases["INSUFFICIENT_FUNDS"]
	id := l.ids["INSUFFICIENT_FUNDS"]
	var v dlq.View
	r = e.MustRun(0, "dlq", "show", fmt.Sprint(id), "-o", "json")
	r.JSON(t, &v)
	s := v.Decoded.Signed
	if s == nil || s.OnChain == nil || s.OnChain.State != dlq.SignedUnused || s.Nonce != 0 || s.ChainID != "31337" ||
		!strings.Contains(r.Stderr, "can still be broadcast") || !strings.Contains(r.Stderr, "anyone holding the database file") {
		t.Fatalf("signed transaction: %+v\nstderr: %s", s, r.Stderr)
	}
	r = e.MustRun(0, "dlq", "show", fmt.Sprint(id))
	for _, want := range []string{"signed tx", s.Hash, "from " + s.From, "UNUSED", "node error", "-32003"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dlq show %d has no %q:\n%s", id, want, r.Stdout)
		}
	}
	// What the warning says can happen: fund the sender, broadcast the bytes from the
	// database, and the relayer's transaction is mined.
	ctx := context.Background()
	if err := e.Anvil.RPC(ctx, nil, "anvil_setBalance", s.From, "0xde0b6b3a7640000"); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := e.Anvil.RPC(ctx, &hash, "eth_sendRawTransaction", hexutil.Encode(u.Raw)); err != nil || hash != s.Hash {
		t.Fatalf("broadcast the signed transaction from the database: %v (%s)", err, hash)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := devchain.WaitMined(wait, e.Anvil.URL, common.HexToHash(hash)); err != nil {
		t.Fatal(err)
	}
	e.MustRun(0, "dlq", "show", fmt.Sprint(id), "-o", "json").JSON(t, &v)
	if o := v.Decoded.Signed.OnChain; o.State != dlq.SignedMined || o.Block == 0 {
		t.Fatalf("after the broadcast: %+v", o)
	}
}

// The status endpoint's query (spec/VRWX.md: GET /connectors/webhook/status/:jobId
// answers the job's idempotency record), run by the sqlite3 oracle.
func statusEndpoint(t *testing.T, path string, chainID uint64, job uint64) (status string, response map[string]any) {
	t.Helper()
	row := query(t, path, `SELECT status || '|' || coalesce(response_json, '') FROM idempotency_keys WHERE key = ?`, fmt.Sprintf("base:%d:job:%d", chainID, job))
	status, body, _ := strings.Cut(row, "|")
	if body != "" {
		if err := json.Unmarshal([]byte(body), &response); err != nil {
			t.Fatalf("response_json %q: %v", body, err)
		}
	}
	return status, response
}

// A replay prefers the values the reason's calldata holds (what the API built and
// the controller signed) over a derivation that cannot know the API's clock, and
// leaves the API's records as its own successful retry would: the row retried once
// more and resolved RETRIED, the job's idempotency record COMPLETED with the
// webhook's success response, which is what the status endpoint then answers. A
// signature made for another chain is refused with the chain named; a dry run with
// an unfunded sender reports every row.
func TestReplayLeavesTheAPIsRecordsAsItsRetryWould(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, e.D)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	unfunded := func(job, tag string) dlqtest.Case {
		c, err := b.Controller(ctx, job, tag, 100, 1)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := crypto.GenerateKey()
		cs, err := b.Unfunded(ctx, key, c)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	// A delivery without endTs: the API's clock said 119.98 minutes and the
	// controller signed quality 100; the row's created_at, a second later, derives 90.
	created := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	delivery := map[string]any{"delivery": map[string]any{"pickupProofHash": "0xaa", "dropoffProofHash": "0xbb"}, "eventBundle": "0xcc",
		"startTs": created.Unix() - 7200}
	row := func(c dlqtest.Case, body map[string]any, at time.Time) apidbtest.TxFailRow {
		r := c.Row(body)
		r.ServiceType, r.CreatedAt = "delivery", at
		return r
	}
	funds := unfunded(devchain.JobFunded, "funds")
	other := unfunded(devchain.JobFundedReopened, "other")
	wrong, err := b.WrongDomain(ctx, devchain.JobFundedSoon, 8453, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := b.Controller(ctx, devchain.JobFundedOverdue, "late", 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	late, err := b.Estimate(ctx, "DeadlinePassed", lc)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{JobCompletions: 5, Payments: 1, DLQEvents: 1,
		ChainID: int64(e.D.ChainID), TxFails: []apidbtest.TxFailRow{
			row(funds, delivery, created), row(other, delivery, created.Add(time.Second)),
			row(wrong, delivery, created.Add(2*time.Second)), row(late, delivery, created.Add(3*time.Second))}})
	if err != nil {
		t.Fatal(err)
	}
	e.Vars["DATABASE_PATH"] = fx.Path
	fundsID, otherID, wrongID, lateID := fx.TxFailIDs[0], fx.TxFailIDs[1], fx.TxFailIDs[2], fx.TxFailIDs[3]

	// A dry run from an account without ETH: every row is judged and reported.
	poor, _ := crypto.GenerateKey()
	e.Vars["POOR_KEY"] = hexutil.Encode(crypto.FromECDSA(poor))[2:]
	clitest.Secret(e.Vars["POOR_KEY"])
	var plan clidlq.BulkReplayJSON
	r := e.Run("dlq", "replay", "--all", "--signer", "env://POOR_KEY", "--dry-run", "-o", "json")
	r.JSON(t, &plan)
	byID := map[int64]clidlq.ReplayRow{}
	for _, row := range plan.Rows {
		byID[row.ID] = row
	}
	if r.Code != 1 || plan.Counts["not-run"] != 0 || byID[fundsID].Outcome != "failed" || byID[otherID].Outcome != "failed" {
		t.Fatalf("dry run from an unfunded sender: every sendable row must be tried:\n%s\n%+v", r, plan)
	}
	for _, id := range []int64{fundsID, otherID} {
		if v := byID[id].Values; v == nil || v.QualityScore != 100 || v.QualityFrom != "reason" || v.WorkUnits != 1 || v.WorkUnitsFrom != "reason" {
			t.Errorf("row %d values: %+v", id, v)
		}
	}
	if w := byID[wrongID]; w.Outcome != "skipped" || !strings.Contains(w.Hint, "signed this claim for chain 8453 (base-mainnet)") ||
		!strings.Contains(w.Hint, fmt.Sprintf("not for chain %d", e.D.ChainID)) || !strings.Contains(w.Hint, "the values are right, the EIP-712 domain is not") {
		t.Errorf("a signature for another chain: %+v", w)
	}
	if l := byID[lateID]; l.Outcome != "skipped" || !strings.Contains(l.Hint, fmt.Sprintf("vrwxctl dlq resolve %d --as SKIPPED", lateID)) {
		t.Errorf("a job past its deadline: %+v", l)
	}

	// The real replay of one row.
	before := dlqRow(t, fx.Path, fundsID)
	if st, _ := statusEndpoint(t, fx.Path, e.D.ChainID, funds.Completion.JobID); st != "FAILED" {
		t.Fatalf("the fixture's idempotency record is %q, want FAILED as the API leaves it", st)
	}
	var out clidlq.ReplayJSON
	r = e.Run("dlq", "replay", fmt.Sprint(fundsID), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "-o", "json")
	r.JSON(t, &out)
	if r.Code != 0 || out.Values.QualityScore != 100 || out.Values.QualityFrom != "reason" || out.Completion.Derived == nil || out.Completion.Derived.QualityScore != 90 {
		t.Fatalf("replay with the reason's values:\n%s\n%+v", r, out.Values)
	}
	if j := onChain(t, e, fmt.Sprint(funds.Completion.JobID)); j.Job.Status != "COMPLETED" || j.Job.QualityScore != 100 || j.Job.WorkUnits != 1 {
		t.Fatalf("job after the replay: %+v", j)
	}
	tx := out.Complete.Tx
	after := dlqRow(t, fx.Path, fundsID)
	if after.retries != before.retries+1 || after.lastRetry == 0 || after.nextRetry != after.lastRetry+60_000<<before.retries ||
		after.resolvedAt != after.lastRetry || after.resolution != "RETRIED" || after.notes != "replayed by vrwxctl: tx "+tx.TxHash {
		t.Fatalf("the row after the replay: %+v (before %+v)", after, before)
	}
	st, resp := statusEndpoint(t, fx.Path, e.D.ChainID, funds.Completion.JobID)
	if st != "COMPLETED" || resp["accepted"] != true || resp["success"] != true || resp["txHash"] != tx.TxHash ||
		resp["blockNumber"] != float64(tx.Receipt.Block) || resp["gasUsed"] != fmt.Sprint(tx.Receipt.GasUsed) || resp["jobId"] != fmt.Sprint(funds.Completion.JobID) {
		t.Fatalf("the status endpoint answers %s %v", st, resp)
	}
	if out.Idempotency == nil || out.Idempotency.Status != "COMPLETED" || query(t, fx.Path, `SELECT coalesce(error_code, 'null') FROM idempotency_keys WHERE key = ?`,
		fmt.Sprintf("base:%d:job:%d", e.D.ChainID, funds.Completion.JobID)) != "null" {
		t.Errorf("idempotency in the output %+v", out.Idempotency)
	}
	text := e.Run("dlq", "replay", fmt.Sprint(otherID), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if text.Code != 0 || !strings.Contains(text.Stderr, "100  (reason)") ||
		!strings.Contains(text.Stdout, fmt.Sprintf("idempotency key base:%d:job:%d: COMPLETED (was FAILED)", e.D.ChainID, other.Completion.JobID)) {
		t.Fatalf("text replay:\n%s", text)
	}
	// The wrong-domain row alone: refused, the chain it was signed for named.
	r = e.Run("dlq", "replay", fmt.Sprint(wrongID), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "signed this claim for chain 8453 (base-mainnet)") {
		t.Fatalf("wrong domain, alone:\n%s", r)
	}
}

type rowState struct {
	retries                          int64
	lastRetry, nextRetry, resolvedAt int64
	resolution, notes                string
}

func dlqRow(t *testing.T, path string, id int64) rowState {
	t.Helper()
	parts := strings.Split(query(t, path, `SELECT retry_count || '|' || coalesce(last_retry_at, 0) || '|' || coalesce(next_retry_at, 0) || '|' ||
		coalesce(resolved_at, 0) || '|' || coalesce(resolution_type, '') || '|' || coalesce(resolution_notes, '') FROM dlq_events WHERE id = ?`, id), "|")
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	return rowState{retries: n(parts[0]), lastRetry: n(parts[1]), nextRetry: n(parts[2]), resolvedAt: n(parts[3]), resolution: parts[4], notes: parts[5]}
}
