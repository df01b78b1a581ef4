package main_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation/rotationtest"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup/replicatest"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func TestMain(m *testing.M) { clitest.Main(m) }

type runbookLine struct {
	line    int
	command string
	exit    int
}

var (
	exitComment = regexp.MustCompile(`\s+#\s*exit\s+(\d+)\s*$`)
	// A runbook command: "vrwxctl …" or "NAME=$(vrwxctl …)".
	commandLine = regexp.MustCompile(`^(vrwxctl |[A-Z_]+=\$\(vrwxctl )`)
)

// runbookCommands returns every vrwxctl line inside a fenced code block of docs/RUNBOOK.md.
func runbookCommands(t *testing.T) []runbookLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []runbookLine
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || !commandLine.MatchString(text) {
			continue
		}
		l := runbookLine{line: n, command: text}
		if m := exitComment.FindStringSubmatch(l.command); m != nil {
			l.exit, _ = strconv.Atoi(m[1])
			l.command = strings.TrimSpace(exitComment.ReplaceAllString(l.command, ""))
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		t.Fatal("docs/RUNBOOK.md has no vrwxctl commands")
	}
	return out
}

const stuckSetup = `STUCK_NONCE=$($CAST nonce $RELAYER_ADDRESS --rpc-url $RPC_URL)
$CAST rpc evm_setAutomine false --rpc-url $RPC_URL >/dev/null
STUCK_TX_HASH=$($CAST send --async --unlocked --from $RELAYER_ADDRESS $TREASURY_ADDRESS --value 1 --rpc-url $RPC_URL)
`

// Every vrwxctl line of docs/RUNBOOK.md runs, as pasted into one bash session from top
// to bottom, against a local chain and a local Secrets Manager, and exits as the page
// says; then the rotation's effects are checked on chain and in the store.
func TestRunbookCommands(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	bin := clitest.Binary(t)
	cast := devchain.RequireCast(t)
	ctx := context.Background()

	// The relayer secret starts out holding the old relayer key (dev account 6).
	sm := secretstest.NewSecretsManager(t)
	sm.Seed("vrwx/prod/relayer-key", fmt.Sprintf(`{"RELAYER_PRIVATE_KEY":"%s"}`, devchain.DevKeyHex(6)))
	none := filepath.Join(t.TempDir(), "absent")

	completionHash, signature := signCompletion(t, e, e.D.Jobs[devchain.JobFunded])
	// The API, as a rotation sees it: /health reports the key it loaded from the
	// secret at its last start, and `kubectl rollout restart deployment/vrwx-api`
	// (a stand-in for the cluster on PATH) restarts it.
	api := rotationtest.NewAPI(t, e.D.ChainID, func() (common.Address, error) { return smCurrent(sm, "vrwx/prod/relayer-key") })
	kubectl := kubectlStandIn(t, api)
	db, dlqID, dlqSkipID, dlqLiveID, liveJob := runbookDB(t, e)
	// litestream replicates the database as the API's sidecar does, from before
	// the first line; the page's restores stop it first, as scaling the API's pod
	// to 0 does. A point in time to restore: once its first snapshot is there.
	replica := filepath.Join(t.TempDir(), "replica")
	ls := replicatest.Replicate(t, db, "file://"+replica)
	engine := replicatest.Engine(t)
	waitCtx, cancelWait := context.WithTimeout(ctx, 2*time.Minute)
	replicatest.WaitFor(waitCtx, t, engine, sqlitebackup.Location{Path: replica, Replica: true}, sqlitebackup.S3Config{},
		func(i *sqlitebackup.ReplicaInfo) bool { return len(i.Snapshots) > 0 })
	cancelWait()
	restoreTime := time.Now().UTC()
	vars := map[string]string{
		"DATABASE_PATH":                    db,
		"DLQ_ID":                           strconv.FormatInt(dlqID, 10),
		"DLQ_SKIP_ID":                      strconv.FormatInt(dlqSkipID, 10),
		"BACKUP_DIR":                       t.TempDir(),
		"REPLICA_URL":                      "file://" + replica,
		"RESTORE_TIME":                     restoreTime.Format(time.RFC3339Nano),
		"VRWXCTL_LITESTREAM":               engine.Path,
		"DR_RELAYER_SECRET":                "aws-sm://vrwx/prod/relayer-key?region=" + sm.Region(),
		"VRWX_API_URL":                     api.URL,
		"COMPLETION_HASH":                  completionHash,
		"SIGNATURE":                        signature,
		"PATH":                             kubectl + ":" + filepath.Dir(bin) + ":" + os.Getenv("PATH"),
		"RELAYER_ADDRESS":                  e.D.Relayer.Hex(),
		"RELAYER_PRIVATE_KEY":              devchain.DevKeyHex(devchain.AccountRelayer),
		"JOB_ID":                           strconv.FormatUint(e.D.Jobs[devchain.JobFunded], 10),
		"ROBOT_ID":                         e.D.Robots[devchain.RobotActive].ID.Hex(),
		"TREASURY_ADDRESS":                 e.D.Treasury.Hex(),
		"TREASURY_KEY":                     devchain.DevKeyHex(devchain.AccountTreasury),
		"OLD_RELAYER_KEY":                  devchain.DevKeyHex(6),
		"RELAYER_SECRET":                   "aws-sm://vrwx/prod/relayer-key",
		"CAST":                             cast,
		"AWS_ACCESS_KEY_ID":                "AKIAVRWXTESTKEY00001",
		"AWS_SECRET_ACCESS_KEY":            "vrwx-test-secret-access-key",
		"AWS_REGION":                       sm.Region(),
		"AWS_CONFIG_FILE":                  none,
		"AWS_SHARED_CREDENTIALS_FILE":      none,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
	}
	for k, v := range e.Vars {
		vars[k] = v
	}

	lines := runbookCommands(t)
	var script strings.Builder
	stuckMade, litestreamStopped := false, false
	for i, l := range lines {
		if strings.Contains(l.command, "db restore") && !litestreamStopped {
			// Not on the page as a vrwxctl line: stopping the API stops its
			// litestream sidecar, which syncs and exits on SIGTERM.
			fmt.Fprintf(&script, "kill -TERM %d; while kill -0 %d 2>/dev/null; do sleep 0.1; done\n", ls.Pid(), ls.Pid())
			litestreamStopped = true
		}
		if strings.Contains(l.command, "$STUCK_") && !stuckMade {
			// Not on the page: make the relayer's transaction that is not being mined,
			// with cast (the tool being replaced) on a chain that stopped mining.
			script.WriteString(stuckSetup)
			stuckMade = true
		}
		fmt.Fprintf(&script, "{ %s ; } 2>&1; echo \"@@@ %d $?\"\n", l.command, i)
	}
	cmd := exec.Command("bash", "-c", script.String())
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	var chunk strings.Builder
	seen := 0
	for _, ln := range strings.Split(string(out), "\n") {
		var idx, code int
		if _, err := fmt.Sscanf(ln, "@@@ %d %d", &idx, &code); err == nil {
			l := lines[idx]
			clitest.Record(l.command, chunk.String(), code)
			if code != l.exit {
				t.Errorf("docs/RUNBOOK.md:%d `%s` exited %d, the page says %d:\n%s", l.line, l.command, code, l.exit, chunk.String())
			}
			chunk.Reset()
			seen++
			continue
		}
		chunk.WriteString(ln + "\n")
	}
	if seen != len(lines) {
		t.Fatalf("ran %d of %d runbook lines:\n%s", seen, len(lines), out)
	}

	// Two rotations happened (the zero-downtime one, then the emergency one): the
	// secret holds three keys; the current one is funded with the local profile's
	// 0.5 ETH and is what the restarted API reports; both earlier wallets were
	// drained to exactly 0.
	labels := sm.Stages("vrwx/prod/relayer-key")
	if len(labels) != 3 {
		t.Fatalf("secret versions %v, want the original and two rotated keys", labels)
	}
	// The DLQ was processed — one row replayed alone, one skipped, the live API's row
	// replayed in bulk, the UPLOAD_FAIL resolved by type and nothing else — and
	// survived the backup and the restore, which kept the database it replaced beside it.
	rdb, err := apidb.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for id, want := range map[int64]string{dlqID: "RETRIED", dlqSkipID: "SKIPPED", dlqLiveID: "RETRIED"} {
		var got string
		if err := rdb.QueryRow(`SELECT COALESCE(resolution_type, '') FROM dlq_events WHERE id = ?`, id).Scan(&got); err != nil || got != want {
			t.Errorf("DLQ event %d resolved as %q (%v), want %s", id, got, err, want)
		}
	}
	byType := map[string]string{}
	rows, err := rdb.Query(`SELECT type, COALESCE(resolution_type, '-'), COALESCE(resolution_notes, '') FROM dlq_events WHERE type IN ('UPLOAD_FAIL', 'HASH_MISMATCH') AND (resolved_at IS NULL OR resolution_notes LIKE '%INC-81%')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, res, notes string
		if err := rows.Scan(&typ, &res, &notes); err != nil {
			t.Fatal(err)
		}
		byType[typ] += res + " " + notes + ";"
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"UPLOAD_FAIL": "MANUAL re-uploaded after the storage outage; reason: INC-81;", "HASH_MISMATCH": "- ;"}; !maps.Equal(byType, want) {
		t.Errorf("after dlq resolve --all --type UPLOAD_FAIL: %q, want %q", byType, want)
	}
	// The bulk replay sent the values derived from the live payload, which the
	// controller had signed.
	var job struct {
		Job struct {
			Status       string `json:"status"`
			QualityScore uint8  `json:"qualityScore"`
			WorkUnits    uint32 `json:"workUnits"`
		} `json:"job"`
	}
	e.MustRun(0, "job", "get", liveJob, "-o", "json").JSON(t, &job)
	if job.Job.Status != "COMPLETED" || job.Job.QualityScore != 92 || job.Job.WorkUnits != 47 {
		t.Errorf("job %s after the bulk replay: %+v, want COMPLETED with 92 and 47", liveJob, job.Job)
	}
	// Three restores (the backup, the replica at a point in time, its latest
	// state), each keeping what it replaced; the last brought back everything
	// litestream had when it stopped, so the processing above survived.
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "pre-restore-*")); len(old) != 3 {
		t.Errorf("restore left %v beside the database, want three pre-restore folders", old)
	}
	var addrs []common.Address
	for id := range labels {
		v, _ := sm.Value("vrwx/prod/relayer-key", id)
		h := strings.TrimSuffix(strings.SplitN(v, `":"`, 2)[1], `"}`)
		clitest.Secret(h)
		a, err := addressOfHex(h)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	cur, err := smCurrent(sm, "vrwx/prod/relayer-key")
	if err != nil || api.Loaded() != cur || cur == devchain.DevAddress(6) || api.Restarts() != 2 {
		t.Fatalf("current key %s (%v), API on %s after %d restarts", cur.Hex(), err, api.Loaded().Hex(), api.Restarts())
	}
	for _, a := range addrs {
		var bal hexutil.Big
		if err := e.Anvil.RPC(ctx, &bal, "eth_getBalance", a, "latest"); err != nil {
			t.Fatal(err)
		}
		want := big.NewInt(0)
		if a == cur {
			want = big.NewInt(5e17)
		}
		if bal.ToInt().Cmp(want) != 0 {
			t.Fatalf("%s holds %s wei, want %s (current %s)", a.Hex(), bal.ToInt(), want, cur.Hex())
		}
	}
}

// smCurrent is the address of the key the AWSCURRENT version of a secret holds.
func smCurrent(sm *secretstest.SecretsManager, name string) (common.Address, error) {
	for id, labels := range sm.Stages(name) {
		if slices.Contains(labels, "AWSCURRENT") {
			v, _ := sm.Value(name, id)
			return addressOfHex(strings.TrimSuffix(strings.SplitN(v, `":"`, 2)[1], `"}`))
		}
	}
	return common.Address{}, os.ErrNotExist
}

func addressOfHex(h string) (common.Address, error) {
	k, err := crypto.HexToECDSA(strings.TrimPrefix(h, "0x"))
	if err != nil {
		return common.Address{}, err
	}
	return crypto.PubkeyToAddress(k.PublicKey), nil
}

// kubectlStandIn is a directory holding a `kubectl` that accepts only `rollout
// restart deployment/vrwx-api` and restarts the API stand-in: the cluster a
// rotation's --deploy-cmd talks to, which a test cannot have.
func kubectlStandIn(t *testing.T, api *rotationtest.API) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		"[ \"$*\" = \"rollout restart deployment/vrwx-api\" ] || { echo \"kubectl stand-in: unexpected arguments: $*\" >&2; exit 2; }\n" +
		"touch '" + api.Marker + "'\n" +
		"echo 'deployment.apps/vrwx-api restarted'\n"
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runbookDB is the API's database for the DLQ and backup sections: resolved history,
// an unresolved HASH_MISMATCH and an unresolved UPLOAD_FAIL event (depth under the
// warning line), and three TX_FAIL rows — one whose completion can still be replayed
// (a FUNDED job of the active robot, signed by its controller), one of the
// deactivated robot, to be resolved by hand, and one as the live API writes it (the
// webhook body of an inspection, no quality score or work units: replay derives the
// 92 and 47 its controller signed) for a job seeded here, so no other line of the
// page uses it.
func runbookDB(t *testing.T, e *clitest.Env) (path string, replay, skip, live int64, liveJob string) {
	t.Helper()
	ctx := context.Background()
	sign := func(id uint64, manifest string, q uint8, w uint32) (common.Hash, string) {
		c, err := devchain.SignJobCompletion(ctx, e.D, id, crypto.Keccak256Hash([]byte(manifest)), q, w,
			devchain.DevKey(devchain.AccountActiveController), e.D.ChainID, e.D.Escrow)
		if err != nil {
			t.Fatal(err)
		}
		return c.CompletionHash, hexutil.Encode(c.Signature)
	}
	q, w := uint64(100), uint64(12)
	row := func(job string) apidbtest.TxFailRow {
		id := e.D.Jobs[job]
		hash, sig := sign(id, "runbook dlq "+job, uint8(q), uint32(w))
		return apidbtest.TxFailRow{JobID: strconv.FormatUint(id, 10), ManifestHash: hash.Hex(), ControllerSig: sig,
			RobotID: e.D.Robots[devchain.RobotActive].ID.Hex(), QualityScore: &q, WorkUnits: &w, CreatedAt: time.Now().Add(-47 * time.Hour)}
	}
	var count hexutil.Bytes
	if err := e.Anvil.RPC(ctx, &count, "eth_call", map[string]any{"to": e.D.Escrow, "data": hexutil.Bytes(vrwx.Pack(vrwx.EscrowABI(), "jobCount"))}, "latest"); err != nil {
		t.Fatal(err)
	}
	if err := devchain.SeedJobs(ctx, e.D.RPCURL, e.D, 1); err != nil {
		t.Fatal(err)
	}
	seeded := new(big.Int).SetBytes(count).Uint64() + 1
	hash, sig := sign(seeded, "runbook dlq live", 92, 47)
	// The rows are days old, so doctor relay's last hour of the DLQ holds none of them.
	old := time.Now().Add(-48 * time.Hour)
	liveRow := apidbtest.TxFailRow{JobID: strconv.FormatUint(seeded, 10), ManifestHash: hash.Hex(), ControllerSig: sig, CreatedAt: old,
		RobotID: e.D.Robots[devchain.RobotActive].ID.Hex(), ServiceType: "inspection", Body: map[string]any{
			// 45 of 50 covered and two artifacts: quality 92, work units 47.
			"inspection": map[string]any{"coverageVisited": 45, "coverageTotal": 50},
			"artifacts":  []map[string]any{{"type": "photo", "sha256": "ab", "bytes": 10}, {"type": "thermal_scan", "sha256": "cd", "bytes": 20}},
		}}
	// 30 generated events: the first 28 resolved, then one unresolved HASH_MISMATCH
	// and one unresolved UPLOAD_FAIL (the fixture cycles types, then states).
	f, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{
		ChainID: int64(e.D.ChainID), DLQEvents: 30, JobCompletions: 20, Payments: 5, Now: time.Now().Add(-3 * time.Hour),
		TxFails: []apidbtest.TxFailRow{row(devchain.JobFundedReopened), row(devchain.JobFundedDeactivated), liveRow},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f.Path, f.TxFailIDs[0], f.TxFailIDs[1], f.TxFailIDs[2], liveRow.JobID
}

// signCompletion signs a completion of job id by the active robot's controller, as
// the API would have received it.
func signCompletion(t *testing.T, e *clitest.Env, id uint64) (hash, sig string) {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), e.D, id, crypto.Keccak256Hash([]byte("runbook manifest")), 100, 12,
		devchain.DevKey(devchain.AccountActiveController), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	return c.CompletionHash.Hex(), hexutil.Encode(c.Signature)
}
