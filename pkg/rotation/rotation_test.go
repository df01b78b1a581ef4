package rotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/rotation/rotationtest"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// rig is one rotation's world: a chain, a file store holding a funded relayer
// key, the treasury, and the API stand-in reading the store.
type rig struct {
	t        *testing.T
	anvil    *devchain.Anvil
	chain    *chain.Client
	store    secrets.Store
	ref      string
	old      common.Address
	api      *rotationtest.API
	state    string
	out, err bytes.Buffer
	keys     []string
}

func newRig(t *testing.T, a *devchain.Anvil) *rig {
	t.Helper()
	r := &rig{t: t, anvil: a, state: t.TempDir()}
	r.chain = chain.New(chain.Options{URLs: []string{a.URL}, ChainID: devchain.DefaultChainID})
	t.Cleanup(r.chain.Close)
	r.ref = "file://" + filepath.Join(t.TempDir(), "relayer.hex")
	s, err := secrets.Open(context.Background(), r.ref, secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.store = s
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := secrets.FromECDSA(k)
	if _, err := s.WritePending(context.Background(), pk); err != nil {
		t.Fatal(err)
	}
	r.keys = append(r.keys, hexutil.Encode(crypto.FromECDSA(k))[2:])
	r.old = pk.Address()
	r.setBalance(r.old, ether(1))
	r.api = rotationtest.NewAPI(t, devchain.DefaultChainID, func() (common.Address, error) {
		_, v, err := r.store.Read(context.Background(), "")
		return v.Address, err
	})
	return r
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

func (r *rig) setBalance(a common.Address, wei *big.Int) {
	r.t.Helper()
	if err := r.anvil.RPC(context.Background(), nil, "anvil_setBalance", a, hexutil.EncodeBig(wei)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) balance(a common.Address) *big.Int {
	r.t.Helper()
	b, err := r.chain.BalanceAt(context.Background(), a, chain.Latest)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *rig) nonce(a common.Address) uint64 {
	r.t.Helper()
	var n hexutil.Uint64
	if err := r.anvil.RPC(context.Background(), &n, "eth_getTransactionCount", a, "latest"); err != nil {
		r.t.Fatal(err)
	}
	return uint64(n)
}

func (r *rig) options() rotation.Options {
	deploy, err := rotation.SplitCommand(r.api.DeployCmd())
	if err != nil {
		r.t.Fatal(err)
	}
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	return rotation.Options{
		IO: ui.Test(strings.NewReader(""), &r.out, &r.err), Store: r.store, Chain: r.chain,
		OpenSigner: func(_ context.Context, ref string) (txflow.Signer, error) {
			if ref != "test://treasury" {
				return nil, errs.Usagef("unknown signer %s", ref)
			}
			k, _ := secrets.FromECDSA(devchain.DevKey(devchain.AccountTreasury))
			return signer.New(k)
		},
		TreasuryRef: "test://treasury", Treasury: &treasury,
		Audit: audit.Open(filepath.Join(r.state, "audit.log")), LockDir: r.state, Profile: "local",
		Health: &health.Client{Timeout: 2 * time.Second}, APIURL: r.api.URL, Hook: rotation.ExecHook, DeployCmd: deploy,
		Dir: filepath.Join(r.state, "rotations"), WaitTimeout: 20 * time.Second, StepTimeout: 30 * time.Second,
		Advice: rotation.Advice{Resume: "RESUME", Rollback: "ROLLBACK", DiscardPending: "DISCARD", Restart: "RESTART",
			Drain: func(ref string) string { return "DRAIN " + ref }},
		Mode: rotation.Standard, Fund: new(big.Int).Div(ether(1), big.NewInt(10)), Yes: true,
	}
}

// noKeys fails if any key the rig holds appears in what the rotation printed or in
// any file it left in its state directory.
func (r *rig) noKeys(newKey string) {
	r.t.Helper()
	keys := append([]string{newKey}, r.keys...)
	texts := map[string]string{"stdout": r.out.String(), "stderr": r.err.String()}
	_ = filepath.WalkDir(r.state, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			texts[p] = string(b)
		}
		return nil
	})
	for where, text := range texts {
		for _, k := range keys {
			if k != "" && strings.Contains(strings.ToLower(text), strings.ToLower(k)) {
				r.t.Fatalf("a private key appears in %s", where)
			}
		}
	}
}

// The whole standard rotation in-process, on a file store: the new key is
// current, funded with exactly the amount, the API restarted onto it, the old
// wallet at exactly 0, every step done in the journal, no key anywhere.
func TestStandardRotation(t *testing.T) {
	a, _ := devchain.StartT(t)
	r := newRig(t, a)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	t0 := r.balance(treasury)
	o := r.options()
	j, err := rotation.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, r.err.String())
	}
	if j.Status != rotation.StatusComplete {
		t.Fatalf("status %s", j.Status)
	}
	newAddr := common.HexToAddress(j.New.Address)
	_, cur, err := r.store.Read(context.Background(), "")
	if err != nil || cur.Address != newAddr {
		t.Fatalf("current key %s (%v), want the new %s", cur.Address.Hex(), err, newAddr.Hex())
	}
	if got := r.balance(newAddr); got.Cmp(o.Fund) != 0 {
		t.Fatalf("new wallet holds %s wei, want exactly %s", got, o.Fund)
	}
	if got := r.balance(r.old); got.Sign() != 0 || r.nonce(r.old) != 1 {
		t.Fatalf("old wallet holds %s wei after %d transactions, want 0 after exactly one drain", got, r.nonce(r.old))
	}
	if r.api.Loaded() != newAddr || r.api.Restarts() != 1 {
		t.Fatalf("API on %s after %d restarts", r.api.Loaded().Hex(), r.api.Restarts())
	}
	// The treasury paid the funding and its gas, and got the old balance minus the
	// drain's gas back.
	fundFee, drainFee := fee(t, r, j.Step(rotation.StepFund).TxHashes[0]), fee(t, r, j.Drain.TxHash)
	want := new(big.Int).Sub(t0, o.Fund)
	want.Sub(want, fundFee).Add(want, ether(1)).Sub(want, drainFee)
	if got := r.balance(treasury); got.Cmp(want) != 0 {
		t.Fatalf("treasury %s, want %s", got, want)
	}
	for _, st := range j.Steps {
		if st.Status != rotation.StatusDone || st.Attempts != 1 || st.FinishedAt == nil {
			t.Fatalf("step %+v", st)
		}
	}
	if j.Drain.ExpectedLeftoverWei != "0" || j.Drain.ActualLeftoverWei != "0" {
		t.Fatalf("drain %+v", j.Drain)
	}
	// The journal on disk is the one returned, mode 0600.
	disk, err := rotation.LoadJournal(j.Path)
	if err != nil || disk.Status != rotation.StatusComplete || disk.New != j.New {
		t.Fatalf("journal on disk %+v, %v", disk, err)
	}
	if fi, _ := os.Stat(j.Path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v", fi.Mode().Perm())
	}
	k, _, err := r.store.Read(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	r.noKeys(hexutil.Encode(crypto.FromECDSA(k.ECDSA()))[2:])
	// The key changes are in the audit log like the key commands' (the store, the
	// version, the address), beside the two transactions.
	es, err := audit.Open(filepath.Join(r.state, "audit.log")).Read()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range es {
		if e.Store != "" {
			ops = append(ops, fmt.Sprintf("%s %s %s %s", e.Command, e.Outcome, e.Version, e.Address))
		}
	}
	wantOps := []string{
		fmt.Sprintf("key rotate (generate) done %s %s", j.New.VersionID, j.New.Address),
		fmt.Sprintf("key rotate (promote) done %s %s", j.New.VersionID, j.New.Address),
		"key rotate (release) done  ",
	}
	if !slices.Equal(ops, wantOps) {
		t.Fatalf("audit log key operations:\n%s\nwant\n%s", strings.Join(ops, "\n"), strings.Join(wantOps, "\n"))
	}
	if !strings.Contains(r.err.String(), "Key rotation plan") || !strings.Contains(r.err.String(), "step 7/7 drain") {
		t.Fatalf("stderr:\n%s", r.err.String())
	}

	// A second rotation starts afresh (the finished journal is archived): and the
	// key it retires is the one the first made.
	r.out.Reset()
	r.err.Reset()
	j2, err := rotation.Run(context.Background(), r.options())
	if err != nil {
		t.Fatalf("second rotation: %v\n%s", err, r.err.String())
	}
	if j2.Old.Address != j.New.Address || r.balance(newAddr).Sign() != 0 {
		t.Fatalf("second rotation retired %s (balance %s), want %s drained", j2.Old.Address, r.balance(newAddr), j.New.Address)
	}
	archived, _ := filepath.Glob(filepath.Join(r.state, "rotations", "*.complete.json"))
	if len(archived) != 1 {
		t.Fatalf("archived journals %v", archived)
	}
	var a1 rotation.Journal
	b, _ := os.ReadFile(archived[0])
	if err := json.Unmarshal(b, &a1); err != nil || a1.New.Address != j.New.Address {
		t.Fatalf("archived journal %+v %v", a1, err)
	}
}

func fee(t *testing.T, r *rig, hash string) *big.Int {
	t.Helper()
	rc, err := r.chain.ReceiptOf(context.Background(), common.HexToHash(hash))
	if err != nil || rc == nil {
		t.Fatalf("receipt of %s: %v", hash, err)
	}
	return rc.TotalFee()
}
