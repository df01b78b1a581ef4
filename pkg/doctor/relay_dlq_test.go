package doctor

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// The DLQ's reasons here are the texts the live API stores (ethers v6's messages,
// built by dlqtest as ethers words them), so the judge reads what it reads in
// production; pkg/cli/doctor builds them from a real node's answers on anvil.

const robotID = "0x1111111111111111111111111111111111111111111111111111111111111111"

var completionSig = "0x" + strings.Repeat("ab", 65)

// estimateReason is the reason of a relay whose eth_estimateGas reverted with the
// contract error name, for job's completion.
func estimateReason(t *testing.T, name string, job int64) string {
	t.Helper()
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", big.NewInt(job), common.HexToHash("0xc0"), uint8(100), uint32(12), hexutil.MustDecode(completionSig))
	return dlqtest.CallException("estimateGas", contractError(t, name).Selector, relayerAddr, escrowAddr, data)
}

// fundsKey signs the relay the node refused for want of funds; it holds nothing.
var fundsKey, _ = crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")

// insufficientFunds is the reason of a relay the node refused for want of funds:
// it carries the signed transaction, from fundsKey.
func insufficientFunds(t *testing.T) string {
	t.Helper()
	tx, err := types.SignNewTx(fundsKey, types.LatestSignerForChainID(big.NewInt(31337)),
		&types.DynamicFeeTx{ChainID: big.NewInt(31337), Nonce: 10, GasTipCap: gwei("1"), GasFeeCap: gwei("2"), Gas: 300_000, To: &escrowAddr})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return dlqtest.InsufficientFundsReason(raw, -32000, "insufficient funds for gas * price + value: balance 0")
}

// group is rows TX_FAIL rows of one cause, the newest ago before now, with the
// reason text as the API stored it.
func group(reason string, rows int, ago time.Duration, newestID int64) dlq.CauseGroup {
	r := dlq.ParseReason(reason)
	cause := r.Cause()
	if cause == "" {
		cause = dlq.Unrecognised
	}
	return dlq.CauseGroup{Cause: cause, Rows: rows, Unresolved: rows, Newest: now.Add(-ago), NewestID: newestID,
		IDs: []int64{newestID}, Jobs: []string{"7"}, Example: r, ExampleRobot: robotID}
}

// withDLQ is the healthy relay report with the DLQ read from /data/vrwx.db.
func withDLQ(groups ...dlq.CauseGroup) *RelayReport {
	rep := relayReport(healthy())
	rep.DLQPath = "/data/vrwx.db"
	rep.DLQ = &dlq.Failures{Since: now.Add(-time.Hour), Groups: groups}
	for _, g := range groups {
		rep.DLQ.Rows += g.Rows
	}
	return rep
}

// The live API's failures never reach the chain: each group of recent TX_FAIL rows
// is evidence for the runbook's cause its reason decodes to, with the rows' count,
// the newest time and a fix built from what the row holds.
func TestRelayDLQEvidence(t *testing.T) {
	for _, c := range []struct {
		name     string
		group    func(t *testing.T) dlq.CauseGroup
		cause    string
		score    int
		evidence []string
		fix      []string
	}{
		{"InvalidSignature at estimateGas", func(t *testing.T) dlq.CauseGroup {
			return group(estimateReason(t, "InvalidSignature", 7), 3, 10*time.Minute, 42)
		},
			causeSignatures, 63,
			[]string{"DLQ: 3 TX_FAIL row(s) (3 unresolved) failed at estimateGas (the relay never reached the chain) with InvalidSignature, newest 10m ago (event 42, jobs 7)"},
			[]string{"runbook: check IdentityRegistry state — vrwxctl doctor signature " + robotID + " --job 7 --completion-hash " + common.HexToHash("0xc0").Hex() +
				" --quality 100 --work-units 12 --sig " + completionSig + " (event 42's claim"}},
		{"a signature error without the claim", func(t *testing.T) dlq.CauseGroup {
			g := group(estimateReason(t, "ECDSAInvalidSignature", 7), 1, time.Minute, 43)
			g.ExampleRobot = ""
			return g
		}, causeSignatures, 61, []string{"with ECDSAInvalidSignature"}, []string{"vrwxctl dlq show 43 shows the claim the API relayed"}},
		{"many rows weigh at most 40", func(t *testing.T) dlq.CauseGroup {
			return group(estimateReason(t, "RobotNotFound", 7), 500, time.Minute, 44)
		},
			causeSignatures, 100, []string{"500 TX_FAIL row(s)"}, nil},
		{"DeadlinePassed", func(t *testing.T) dlq.CauseGroup {
			return group(estimateReason(t, "DeadlinePassed", 7), 2, time.Minute, 45)
		},
			causeRejected, 32, []string{"with DeadlinePassed"}, []string{"resolve their DLQ rows (vrwxctl dlq resolve ID --as SKIPPED"}},
		{"EnforcedPause", func(t *testing.T) dlq.CauseGroup {
			return group(estimateReason(t, "EnforcedPause", 7), 1, time.Minute, 46)
		},
			causePaused, 61, []string{"with EnforcedPause"}, []string{"contact the admin to unpause"}},
		{"insufficient funds", func(t *testing.T) dlq.CauseGroup { return group(insufficientFunds(t), 4, time.Minute, 47) },
			causeOutOfGas, 54, []string{"with INSUFFICIENT_FUNDS"},
			[]string{"fund the sender: vrwxctl wallet fund --to " + crypto.PubkeyToAddress(fundsKey.PublicKey).Hex(), "then replay the rows (vrwxctl dlq replay --all --signer REF)", "vrwxctl dlq show 47"}},
		{"replacement underpriced", func(*testing.T) dlq.CauseGroup {
			return group(dlqtest.Ethers("replacement fee too low", "REPLACEMENT_UNDERPRICED"), 1, time.Minute, 48)
		}, causeGasPrices, 31, []string{"failed with REPLACEMENT_UNDERPRICED"}, []string{"increase MAX_FEE_PER_GAS_GWEI"}},
		{"nonce expired", func(*testing.T) dlq.CauseGroup {
			return group(dlqtest.Ethers("nonce has already been used", "NONCE_EXPIRED"), 1, time.Minute, 49)
		}, causeNonceGap, 31, []string{"with NONCE_EXPIRED"}, []string{"another sender used the relayer's nonces"}},
		{"a network error", func(*testing.T) dlq.CauseGroup {
			return group(dlqtest.Ethers("request timeout", "TIMEOUT"), 1, time.Minute, 50)
		}, causeRPC, 41, []string{"with TIMEOUT"}, []string{"switch to the backup RPC (RPC_URL)"}},
		{"a reason of no known shape", func(*testing.T) dlq.CauseGroup { return group("relay failed: something new", 1, time.Minute, 51) },
			causeRejected, 11, []string{"failed with " + dlq.Unrecognised}, []string{"vrwxctl dlq show 51 decodes the reason"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := c.group(t)
			rep := withDLQ(g)
			relayJudge().judge(rep, true)
			if len(rep.Causes) != 1 {
				t.Fatalf("causes %q", causeNames(rep.Causes))
			}
			got := rep.Causes[0]
			if got.Name != c.cause || got.Score != c.score || got.Level != Warn || got.DLQRows != g.Rows || got.Newest == nil || !got.Newest.Equal(g.Newest) {
				t.Errorf("cause %s score %d level %s rows %d newest %v, want %s %d warn %d %v", got.Name, got.Score, got.Level, got.DLQRows, got.Newest, c.cause, c.score, g.Rows, g.Newest)
			}
			ev := strings.Join(got.Evidence, " | ")
			for _, e := range c.evidence {
				if !strings.Contains(ev, e) {
					t.Errorf("evidence %q lacks %q", ev, e)
				}
			}
			for _, f := range c.fix {
				if !strings.Contains(got.Fix, f) {
					t.Errorf("fix %q lacks %q", got.Fix, f)
				}
			}
			// The causes the DLQ does not show are ruled out with its word.
			for _, r := range rep.RuledOut {
				if r.Name == c.cause {
					t.Errorf("%s both found and ruled out", r.Name)
				}
				if ev := strings.Join(r.Evidence, " "); !strings.HasSuffix(ev, "; none of the DLQ's "+itoa(g.Rows)+" TX_FAIL row(s) since 2026-03-01 11:00:00 UTC shows it") {
					t.Errorf("%s ruled out by %q", r.Name, ev)
				}
			}
		})
	}
}

var errNoDB = errors.New("unable to open database file: no such file or directory")

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// The chain's evidence and the DLQ's add up: a reverted completion and DLQ rows of
// the same cause are one cause, ranked by both; counts and the newest row are the
// DLQ's.
func TestRelayDLQAndChainEvidenceAddUp(t *testing.T) {
	sig := group(estimateReason(t, "InvalidSignature", 7), 3, 10*time.Minute, 42)
	late := group(estimateReason(t, "DeadlinePassed", 9), 1, 5*time.Minute, 43)
	rep := withDLQ(sig, late)
	rep.History.Mined = append(rep.History.Mined, completionTx(10, 7, "reverted", contractError(t, "InvalidSignature")))
	relayJudge().judge(rep, true)
	if got := causeNames(rep.Causes); !slices.Equal(got, []string{causeSignatures, causeRejected}) {
		t.Fatalf("causes %q", got)
	}
	s := rep.Causes[0]
	if s.Score != 60+63 || s.DLQRows != 3 || !s.Newest.Equal(now.Add(-10*time.Minute)) || len(s.Evidence) != 2 {
		t.Errorf("invalid signatures: %+v", s)
	}
	// The chain's fix came first: it names the job of the reverted transaction.
	if !strings.Contains(s.Fix, "doctor signature ROBOT --job 7") {
		t.Errorf("fix %q", s.Fix)
	}
	want{section: "dlq", name: "recent failures", level: Warn, value: "4 TX_FAIL row(s) since 2026-03-01 11:00:00 UTC",
		detail: []string{"InvalidSignature 3 (newest 10m ago, event 42), DeadlinePassed 1 (newest 5m ago, event 43)"},
		fix:    []string{"vrwxctl dlq list --type TX_FAIL --unresolved"}}.check(t, rep.Checks)
}

// The DLQ line, and what the ruled-out causes say about the DLQ, when it holds no
// recent failure, when it could not be read, and when it held more than was read.
func TestRelayDLQLine(t *testing.T) {
	empty := withDLQ()
	relayJudge().judge(empty, true)
	want{section: "dlq", name: "recent failures", level: OK, value: "none", detail: []string{"no TX_FAIL row since 2026-03-01 11:00:00 UTC (/data/vrwx.db)"}, noFix: true}.check(t, empty.Checks)
	if ev := strings.Join(empty.RuledOut[0].Evidence, " "); !strings.HasSuffix(ev, "; none of the DLQ's 0 TX_FAIL row(s) since 2026-03-01 11:00:00 UTC shows it") {
		t.Errorf("ruled out by %q", ev)
	}

	unreadable := withDLQ()
	unreadable.DLQ, unreadable.DLQErr = nil, errNoDB
	relayJudge().judge(unreadable, true)
	want{section: "dlq", name: "recent failures", level: Warn, value: "unreadable", detail: []string{errNoDB.Error()}}.check(t, unreadable.Checks)
	if ev := strings.Join(unreadable.RuledOut[0].Evidence, " "); !strings.HasSuffix(ev, "; the DLQ could not be read: "+errNoDB.Error()) {
		t.Errorf("ruled out by %q", ev)
	}

	truncated := withDLQ(group(dlqtest.Ethers("request timeout", "TIMEOUT"), dlqRowLimit, time.Minute, 9000))
	truncated.DLQ.Truncated = true
	relayJudge().judge(truncated, true)
	want{section: "dlq", name: "recent failures", level: Warn, value: "the newest 5000 TX_FAIL rows"}.check(t, truncated.Checks)
}

// doctor relay reads the DLQ from the API's database, a real SQLite file: the
// TX_FAIL rows of the window (--since) grouped by cause, the older ones left out,
// judged next to the chain — and a database that is not there is said, not fatal.
func TestRelayReadsTheDLQsRecentFailures(t *testing.T) {
	ctx := context.Background()
	row := func(reason string, ago time.Duration) apidbtest.TxFailRow {
		return apidbtest.TxFailRow{Reason: reason, RobotID: robotID, CreatedAt: now.Add(-ago)}
	}
	sig := estimateReason(t, "InvalidSignature", 7)
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{
		Now: now.Add(-48 * time.Hour), JobCompletions: 2, Payments: 1, DLQEvents: 1, ChainID: 31337,
		TxFails: []apidbtest.TxFailRow{
			row(sig, 26*time.Hour), // yesterday: outside the window
			row(sig, 30*time.Minute), row(sig, 20*time.Minute), row(sig, 10*time.Minute),
			row(estimateReason(t, "DeadlinePassed", 9), 5*time.Minute),
		}})
	if err != nil {
		t.Fatal(err)
	}
	d := relayJudge()
	for _, c := range []struct {
		since  time.Duration
		rows   int
		causes []string
	}{
		{0, 4, []string{causeSignatures, causeRejected}}, // DefaultDLQSince, an hour
		{7 * time.Minute, 1, []string{causeRejected}},
	} {
		d.DLQSince = c.since
		rep := relayReport(healthy())
		<-d.readFailures(ctx, fx.Path, rep)
		if rep.DLQErr != nil {
			t.Fatal(rep.DLQErr)
		}
		d.judge(rep, true)
		if rep.DLQ.Rows != c.rows || !slices.Equal(causeNames(rep.Causes), c.causes) {
			t.Errorf("since %s: %d rows, causes %q; want %d, %q", c.since, rep.DLQ.Rows, causeNames(rep.Causes), c.rows, c.causes)
		}
		if c.since == 0 {
			s := rep.Causes[0]
			if s.DLQRows != 3 || !s.Newest.Equal(now.Add(-10*time.Minute)) || !strings.Contains(s.Fix, "vrwxctl doctor signature "+robotID+" --job 7") {
				t.Errorf("invalid signatures from the database: %+v", s)
			}
		}
	}

	rep := relayReport(healthy())
	<-d.readFailures(ctx, filepath.Join(t.TempDir(), "absent.db"), rep)
	if rep.DLQErr == nil || rep.DLQ != nil {
		t.Fatalf("an absent database read as %+v", rep.DLQ)
	}
	d.judge(rep, true)
	want{section: "dlq", name: "recent failures", level: Warn, value: "unreadable"}.check(t, rep.Checks)
	if len(rep.Causes) != 0 {
		t.Errorf("causes from an unreadable DLQ: %q", causeNames(rep.Causes))
	}
}
