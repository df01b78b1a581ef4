package dlq_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
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
	e.MustRun(0, "dlq", "show", fmt.Sprint(id), "-o", "json").JSON(t, &v)
	if o := v.Decoded.Signed.OnChain; o.State != dlq.SignedMined || o.Block == 0 {
		t.Fatalf("after the broadcast: %+v", o)
	}
}
