package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
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
	e := clitest.NewChain(t)
	bin := clitest.Binary(t)
	cast := devchain.RequireCast(t)
	ctx := context.Background()

	// The relayer secret starts out holding the old relayer key (dev account 6).
	sm := secretstest.NewSecretsManager(t)
	sm.Seed("vrwx/prod/relayer-key", fmt.Sprintf(`{"RELAYER_PRIVATE_KEY":"%s"}`, devchain.DevKeyHex(6)))
	none := filepath.Join(t.TempDir(), "absent")

	completionHash, signature := signCompletion(t, e, e.D.Jobs[devchain.JobFunded])
	// The API relays from the store's current key, as a restarted API would.
	api := healthtest.New(t, healthtest.Options{Relayer: func() (common.Address, error) { return currentKey(sm, "vrwx/prod/relayer-key") }})
	db, dlqID, dlqSkipID := runbookDB(t, e)
	vars := map[string]string{
		"DATABASE_PATH":                    db,
		"DLQ_ID":                           strconv.FormatInt(dlqID, 10),
		"DLQ_SKIP_ID":                      strconv.FormatInt(dlqSkipID, 10),
		"BACKUP_DIR":                       t.TempDir(),
		"VRWX_API_URL":                     api.URL,
		"COMPLETION_HASH":                  completionHash,
		"SIGNATURE":                        signature,
		"PATH":                             filepath.Dir(bin) + ":" + os.Getenv("PATH"),
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
	stuckMade := false
	for i, l := range lines {
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

	// The rotation happened: the store's current key is a new one, funded with 0.5 ETH,
	// and the old relayer was drained to exactly 0.
	labels := sm.Stages("vrwx/prod/relayer-key")
	if len(labels) != 2 {
		t.Fatalf("secret versions %v, want old + new", labels)
	}
	var bal string
	if err := e.Anvil.RPC(ctx, &bal, "eth_getBalance", devchain.DevAddress(6), "latest"); err != nil || bal != "0x0" {
		t.Fatalf("old relayer balance %s (%v), want 0 after the drain", bal, err)
	}
	// The DLQ was processed — one row replayed, one skipped — and survived the backup
	// and the restore, which kept the database it replaced beside it.
	rdb, err := apidb.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for id, want := range map[int64]string{dlqID: "RETRIED", dlqSkipID: "SKIPPED"} {
		var got string
		if err := rdb.QueryRow(`SELECT COALESCE(resolution_type, '') FROM dlq_events WHERE id = ?`, id).Scan(&got); err != nil || got != want {
			t.Errorf("DLQ event %d resolved as %q (%v), want %s", id, got, err, want)
		}
	}
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "pre-restore-*")); len(old) != 1 {
		t.Errorf("restore left %v beside the database, want one pre-restore folder", old)
	}
	for id := range labels {
		v, _ := sm.Value("vrwx/prod/relayer-key", id)
		clitest.Secret(strings.TrimSuffix(strings.SplitN(v, `":"`, 2)[1], `"}`))
	}
}

// currentKey is the address of the secret's AWSCURRENT key.
func currentKey(sm *secretstest.SecretsManager, name string) (common.Address, error) {
	for id, stages := range sm.Stages(name) {
		if !slices.Contains(stages, "AWSCURRENT") {
			continue
		}
		v, _ := sm.Value(name, id)
		var secret struct {
			Key string `json:"RELAYER_PRIVATE_KEY"`
		}
		if err := json.Unmarshal([]byte(v), &secret); err != nil {
			return common.Address{}, err
		}
		k, err := crypto.HexToECDSA(strings.TrimPrefix(secret.Key, "0x"))
		if err != nil {
			return common.Address{}, err
		}
		return crypto.PubkeyToAddress(k.PublicKey), nil
	}
	return common.Address{}, fmt.Errorf("secret %s has no AWSCURRENT version", name)
}

// runbookDB is the API's database for the DLQ and backup sections: a few resolved
// and unresolved events (depth under the warning line) and two TX_FAIL rows — one
// whose completion can still be replayed (a FUNDED job of the active robot, signed
// by its controller) and one of the deactivated robot, to be resolved by hand.
func runbookDB(t *testing.T, e *clitest.Env) (path string, replay, skip int64) {
	t.Helper()
	ctx := context.Background()
	q, w := uint64(100), uint64(12)
	row := func(job string) apidb.TxFailRow {
		id := e.D.Jobs[job]
		c, err := devchain.SignJobCompletion(ctx, e.D, id, crypto.Keccak256Hash([]byte("runbook dlq "+job)), uint8(q), uint32(w),
			devchain.DevKey(devchain.AccountActiveController), e.D.ChainID, e.D.Escrow)
		if err != nil {
			t.Fatal(err)
		}
		return apidb.TxFailRow{JobID: strconv.FormatUint(id, 10), ManifestHash: c.CompletionHash.Hex(), ControllerSig: hexutil.Encode(c.Signature),
			RobotID: e.D.Robots[devchain.RobotActive].ID.Hex(), QualityScore: &q, WorkUnits: &w}
	}
	f, err := apidb.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidb.FixtureOptions{
		ChainID: int64(e.D.ChainID), DLQEvents: 8, JobCompletions: 20, Payments: 5,
		TxFails: []apidb.TxFailRow{row(devchain.JobFundedReopened), row(devchain.JobFundedDeactivated)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f.Path, f.TxFailIDs[0], f.TxFailIDs[1]
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
