package key_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	ethks "github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/rotation/rotationtest"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

// world is one rotation's surroundings for the real binary: a chain (the Env's), a
// secret store of one kind holding the relayer's current key, whose wallet holds
// 1 ETH, and the API stand-in serving the store's current key.
type world struct {
	t   *testing.T
	e   *clitest.Env
	ref string
	old common.Address
	// oldKey is the relayer's key before the rotation (the test signs "relays"
	// with it).
	oldKey *ecdsa.PrivateKey
	api    *rotationtest.API
	// current reads the address of the store's current key from the backend
	// itself (not through vrwxctl).
	current func() (common.Address, error)
	// stored returns every key the backend holds, as hex, to register with the
	// leak scan.
	stored func() []string
}

const keystorePass = "correct horse battery staple"

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	clitest.Secret(keyHex(k))
	return k
}

func keyHex(k *ecdsa.PrivateKey) string { return hexutil.Encode(crypto.FromECDSA(k)) }

func addrOfHex(h string) (common.Address, error) {
	k, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(h), "0x"))
	if err != nil {
		return common.Address{}, err
	}
	return crypto.PubkeyToAddress(k.PublicKey), nil
}

// newWorld makes a store of kind (file, keystore, aws-sm, vault) holding a fresh
// current key, funds its wallet with 1 ETH, and starts the API on it.
func newWorld(t *testing.T, e *clitest.Env, kind string) *world {
	t.Helper()
	w := &world{t: t, e: e}
	k := newKey(t)
	w.oldKey, w.old = k, crypto.PubkeyToAddress(k.PublicKey)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	switch kind {
	case "file":
		p := filepath.Join(e.SecretDir, "relayer-"+uuid.NewString()[:8]+".hex")
		w.ref = e.KeyFile(filepath.Base(p), keyHex(k)+"\n", 0o600)
		w.current = func() (common.Address, error) {
			b, err := os.ReadFile(p)
			if err != nil {
				return common.Address{}, err
			}
			return addrOfHex(string(b))
		}
		w.stored = func() []string {
			var out []string
			files, _ := filepath.Glob(p + "*")
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil {
					out = append(out, strings.TrimSpace(string(b)))
				}
			}
			return out
		}
	case "keystore":
		p := filepath.Join(e.SecretDir, "relayer-"+uuid.NewString()[:8]+".json")
		blob, err := ethks.EncryptKey(&ethks.Key{Id: uuid.New(), Address: w.old, PrivateKey: k}, keystorePass, ethks.LightScryptN, ethks.LightScryptP)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, blob, 0o600); err != nil {
			t.Fatal(err)
		}
		e.Vars["KS_PASS"] = keystorePass
		w.ref = "keystore://" + p + "?password-env=KS_PASS"
		w.current = func() (common.Address, error) {
			var head struct{ Address string }
			b, err := os.ReadFile(p)
			if err == nil {
				err = json.Unmarshal(b, &head)
			}
			return common.HexToAddress(head.Address), err
		}
		w.stored = func() []string {
			var out []string
			files, _ := filepath.Glob(p + "*")
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				if key, err := ethks.DecryptKey(b, keystorePass); err == nil {
					out = append(out, keyHex(key.PrivateKey))
				}
			}
			return out
		}
	case "aws-sm":
		sm := secretstest.NewSecretsManager(t)
		name := "vrwx/test/relayer-" + uuid.NewString()[:8]
		sm.Seed(name, `{"RELAYER_PRIVATE_KEY":"`+keyHex(k)+`"}`)
		none := filepath.Join(t.TempDir(), "absent")
		for k, v := range map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIAVRWXTESTKEY00001", "AWS_SECRET_ACCESS_KEY": "vrwx-test-secret-access-key",
			"AWS_REGION": sm.Region(), "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
			"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
		} {
			e.Vars[k] = v
		}
		w.ref = "aws-sm://" + name
		value := func(id string) string {
			v, _ := sm.Value(name, id)
			var m map[string]string
			_ = json.Unmarshal([]byte(v), &m)
			return m["RELAYER_PRIVATE_KEY"]
		}
		w.current = func() (common.Address, error) {
			for id, labels := range sm.Stages(name) {
				if slices.Contains(labels, "AWSCURRENT") {
					return addrOfHex(value(id))
				}
			}
			return common.Address{}, os.ErrNotExist
		}
		w.stored = func() []string {
			var out []string
			for id := range sm.Stages(name) {
				out = append(out, value(id))
			}
			return out
		}
	case "vault":
		v := secretstest.NewVault(t)
		v.RequireCAS("secret")
		path := "vrwx/test/relayer-" + uuid.NewString()[:8]
		v.WriteData("", "secret", path, map[string]any{"RELAYER_PRIVATE_KEY": keyHex(k)})
		e.Vars["VAULT_ADDR"], e.Vars["VAULT_TOKEN"], e.Vars["VAULT_MAX_RETRIES"] = v.Addr(), v.RootToken(), "0"
		w.ref = "vault://secret/" + path
		value := func(n int) string {
			d, _ := v.Data("", "secret", path, n)
			s, _ := d["RELAYER_PRIVATE_KEY"].(string)
			return s
		}
		// The API reads the version vrwxctl marks current, as the package
		// documentation says Vault readers must (the latest may be a pending key).
		w.current = func() (common.Address, error) {
			n := v.CurrentVersion("", "secret", path)
			if c, ok := v.CustomMetadata("", "secret", path)["vrwxctl_current"]; ok {
				n, _ = strconv.Atoi(c)
			}
			return addrOfHex(value(n))
		}
		w.stored = func() []string {
			var out []string
			for n := 1; n <= v.CurrentVersion("", "secret", path); n++ {
				out = append(out, value(n))
			}
			return out
		}
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	w.setBalance(w.old, ether(1, 1))
	w.api = rotationtest.NewAPI(t, devchain.DefaultChainID, w.current)
	return w
}

// ether is num/den ETH in wei.
func ether(num, den int64) *big.Int {
	v := new(big.Int).Mul(big.NewInt(num), big.NewInt(1e18))
	return v.Div(v, big.NewInt(den))
}

func (w *world) setBalance(a common.Address, wei *big.Int) {
	w.t.Helper()
	if err := w.e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", a, hexutil.EncodeBig(wei)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) balance(a common.Address) *big.Int {
	w.t.Helper()
	var b hexutil.Big
	if err := w.e.Anvil.RPC(context.Background(), &b, "eth_getBalance", a, "latest"); err != nil {
		w.t.Fatal(err)
	}
	return b.ToInt()
}

func (w *world) nonce(a common.Address) uint64 {
	w.t.Helper()
	var n hexutil.Uint64
	if err := w.e.Anvil.RPC(context.Background(), &n, "eth_getTransactionCount", a, "latest"); err != nil {
		w.t.Fatal(err)
	}
	return uint64(n)
}

// register adds every key the store holds to the leak scan.
func (w *world) register() {
	for _, h := range w.stored() {
		if h != "" {
			clitest.Secret(h)
		}
	}
}

// rotateArgs is `key rotate` for this world; extra flags are added, or replace
// the default of the same flag (a flag is never given twice).
func (w *world) rotateArgs(extra ...string) []string {
	defaults := [][2]string{{"--store", w.ref}, {"--treasury-signer", "env://TREASURY_KEY"}, {"--api-url", w.api.URL},
		{"--fund", "0.1ether"}, {"--wait-timeout", "20s"}, {"-o", "json"}}
	args := []string{"key", "rotate", "--yes"}
	for _, d := range defaults {
		if !slices.Contains(extra, d[0]) {
			args = append(args, d[0], d[1])
		}
	}
	return append(args, extra...)
}

// journal decodes a key rotate -o json answer.
func journal(t *testing.T, r clitest.Result) rotation.Journal {
	t.Helper()
	var j rotation.Journal
	r.JSON(t, &j)
	return j
}

// journalFile reads the rotation journals in the env's state directory (the
// active one and archived ones).
func journalFiles(t *testing.T, e *clitest.Env) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "rotations", "*.json"))
	return files
}

// checkRotated asserts the end state of a complete rotation: the store's current
// key is the journal's new key, the new wallet holds exactly the amount, the old
// one exactly the expected leftover (0 on anvil), and every step is done.
func (w *world) checkRotated(j rotation.Journal, fund *big.Int) {
	w.t.Helper()
	w.register()
	if j.Status != rotation.StatusComplete {
		w.t.Fatalf("journal status %s, want complete: %+v", j.Status, j)
	}
	cur, err := w.current()
	if err != nil {
		w.t.Fatal(err)
	}
	newAddr := common.HexToAddress(j.New.Address)
	if cur != newAddr || cur == w.old {
		w.t.Fatalf("the store's current key is %s, want the new %s (old %s)", cur.Hex(), newAddr.Hex(), w.old.Hex())
	}
	if j.Old.Address != w.old.Hex() {
		w.t.Fatalf("journal old %s, want %s", j.Old.Address, w.old.Hex())
	}
	if got := w.balance(newAddr); got.Cmp(fund) != 0 {
		w.t.Fatalf("the new wallet holds %s wei, want exactly %s (funded once)", got, fund)
	}
	left := w.balance(w.old)
	if j.Drain == nil || j.Drain.ActualLeftoverWei != left.String() {
		w.t.Fatalf("the old wallet holds %s wei; the journal's drain says %+v", left, j.Drain)
	}
	for _, st := range j.Steps {
		if st.Status != rotation.StatusDone {
			w.t.Fatalf("step %s is %s", st.Name, st.Status)
		}
	}
	if w.api.Loaded() != newAddr {
		w.t.Fatalf("the API relays from %s, want %s", w.api.Loaded().Hex(), newAddr.Hex())
	}
}
