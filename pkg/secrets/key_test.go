package secrets_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

func TestPrivateKeyNeverPrints(t *testing.T) {
	t.Parallel()
	k, hexKey := testKey(t)
	dec := new(big.Int).SetBytes(crypto.FromECDSA(k.ECDSA())).String()
	type holder struct {
		Key     secrets.PrivateKey
		private secrets.PrivateKey
	}
	h := holder{Key: k, private: k}
	values := []any{k, &k, h, &h, []secrets.PrivateKey{k}, map[string]secrets.PrivateKey{"k": k}}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%x", "%X", "%q", "%d", "%T %v"} {
		for i, v := range values {
			out := fmt.Sprintf(verb, v)
			noLeak(t, out, hexKey, dec)
			if i == 0 && verb != "%T %v" && !strings.Contains(out, k.Address().Hex()) {
				t.Errorf("%s of a key = %q, want it to show the address %s", verb, out, k.Address().Hex())
			}
		}
	}
	noLeak(t, k.String()+k.GoString(), hexKey)

	if b, err := json.Marshal(k); err == nil {
		t.Fatalf("json.Marshal(key) = %s, want an error", b)
	}
	if b, err := json.Marshal(h); err == nil {
		t.Fatalf("json.Marshal(struct with key) = %s, want an error", b)
	}
	if _, err := k.MarshalText(); err == nil {
		t.Fatal("MarshalText succeeded")
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("loaded", "key", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "key", k, "holder", h)
	noLeak(t, buf.String(), hexKey, dec)
	if !strings.Contains(buf.String(), k.Address().Hex()) {
		t.Errorf("log %q does not show the address", buf.String())
	}
}

func TestGenerateDrawsDistinctValidKeys(t *testing.T) {
	t.Parallel()
	a, err := secrets.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secrets.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || a.Address() == b.Address() {
		t.Fatal("two generated keys are equal")
	}
	if a.Address() != crypto.PubkeyToAddress(a.ECDSA().PublicKey) {
		t.Fatal("Address does not match the key")
	}
}

// The hex checks run through a real store (env://) so that the error text an
// operator would see is what is asserted.
func TestHexValidation(t *testing.T) {
	good, goodHex := testKey(t)
	n := crypto.S256().Params().N
	cases := []struct {
		name, value string
		ok          bool
		want        string
	}{
		{"bare hex", goodHex, true, ""},
		{"0x prefix", "0x" + goodHex, true, ""},
		{"upper-case 0X and digits", "0X" + strings.ToUpper(goodHex), true, ""},
		{"surrounding whitespace", "  \n0x" + goodHex + "\n\t", true, ""},
		{"not hex", "0x" + goodHex[:62] + "zz", false, "not hex"},
		{"too short", goodHex[:62], false, "62 hex digits"},
		{"too long", goodHex + "00", false, "66 hex digits"},
		{"an address, not a key", good.Address().Hex(), false, "40 hex digits"},
		{"empty", "   ", false, "empty"},
		{"zero", strings.Repeat("0", 64), false, "zero"},
		{"equal to the curve order", fmt.Sprintf("%064x", n), false, "curve order"},
		{"above the curve order", strings.Repeat("f", 64), false, "curve order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			k, v, err := mustOpen(t, "env://VRWX_TEST_KEY", secrets.Options{LookupEnv: envOf("VRWX_TEST_KEY", c.value)}).Read(ctxT(t), "")
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if k.Address() != good.Address() || v.Address != good.Address() {
					t.Fatalf("address = %s, want %s", k.Address().Hex(), good.Address().Hex())
				}
				return
			}
			wantKind(t, err, errs.Usage, "env://VRWX_TEST_KEY", c.want)
			trimmed := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(c.value)), "0x")
			noLeak(t, err.Error(), c.value, trimmed, trimmed[:min(len(trimmed), 8)])
		})
	}
}

func TestFromECDSARejectsInvalid(t *testing.T) {
	t.Parallel()
	if _, err := secrets.FromECDSA(nil); !errs.Is(err, errs.Usage) {
		t.Fatalf("FromECDSA(nil) error = %v, want Usage", err)
	}
	var zero secrets.PrivateKey
	if !zero.IsZero() || zero.String() != "[no key]" || zero.ECDSA() != nil {
		t.Fatal("zero PrivateKey is not empty")
	}
}
