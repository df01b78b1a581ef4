package key_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
)

// A deploy command that prints everything it can reach — its whole environment,
// and every file of a file:// store read back as it is, reversed, as base64 of the
// file and of the key's bytes — in a real rotation of the real binary on anvil:
// nothing of any key or credential reaches vrwxctl's output. The variables that
// hold keys (named by an env:// reference or not) are not in the command's
// environment; the credentials that stay are shown redacted.
func TestDeployCommandLeaksNothing(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	hexKey := func() string {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	relayer, other, wrapped := hexKey(), hexKey(), hexKey()
	for _, k := range []string{relayer, other, wrapped} {
		clitest.Secret(k)
	}
	creds := map[string]string{
		"VAULT_TOKEN":           "hvs.CAESIvrwxDeployToken9Q",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIvrwxDEPLOYsecret7",
		"AWS_SESSION_TOKEN":     "IQoJb3JpZ2luvrwxDEPLOYsession5",
		"GITHUB_TOKEN":          "ghp_vrwxDeployGithubToken3",
	}
	for k, v := range creds {
		e.Vars[k] = v
		clitest.Credential(v)
	}
	e.Vars["RELAYER_PRIVATE_KEY"] = "0x" + relayer
	e.Vars["OTHER_PRIVATE_KEY"] = strings.ToUpper(other)
	e.Vars["WRAPPED"] = "prefix-" + wrapped + "-suffix"
	e.Vars["VRWX_SIGNER"] = "env://RELAYER_PRIVATE_KEY"
	e.Vars["PLAIN_SETTING"] = "kept-as-is"

	store := strings.TrimPrefix(w.ref, "file://")
	script := `printenv; for f in "` + store + `"*; do cat "$f"; rev "$f"; base64 "$f"; base64 -w0 "$f"; echo; ` +
		`if command -v xxd >/dev/null; then sed 's/^0x//' "$f" | xxd -r -p | base64; fi; done; ` + w.api.DeployCmd()
	r := e.Exec(w.rotateArgs("--deploy-cmd", "sh -c '"+script+"'")...)
	if r.Code != 0 {
		t.Fatalf("rotation with the printing deploy command:\n%s", r)
	}
	w.checkRotated(journal(t, r), ether(1, 10))
	out := r.Stdout + r.Stderr

	// The command ran and printed: its environment, the credentials redacted.
	for _, want := range []string{"  | PLAIN_SETTING=kept-as-is", "  | VAULT_TOKEN=[redacted]", "  | AWS_SECRET_ACCESS_KEY=[redacted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the deploy command's output lacks %q:\n%s", want, out)
		}
	}
	// What holds a key is not in its environment at all.
	for _, name := range []string{"RELAYER_PRIVATE_KEY", "OTHER_PRIVATE_KEY", "WRAPPED", "TREASURY_KEY"} {
		if strings.Contains(out, "| "+name+"=") {
			t.Errorf("the deploy command saw %s:\n%s", name, out)
		}
	}
	for name, v := range creds {
		if strings.Contains(out, v[4:16]) {
			t.Errorf("%s's value is in the output:\n%s", name, out)
		}
	}
	// Nothing of any key, in any form the command printed it in.
	var forms []string
	for _, h := range append(w.stored(), "0x"+relayer, "0x"+other, "0x"+wrapped, e.Vars["TREASURY_KEY"]) {
		raw, err := hexutil.Decode("0x" + strings.TrimPrefix(strings.ToLower(h), "0x"))
		if err != nil || len(raw) != 32 {
			t.Fatalf("a stored key %q…: %v", h[:6], err)
		}
		plain := hex.EncodeToString(raw)
		rev := []byte(plain)
		slices.Reverse(rev)
		forms = append(forms, plain, string(rev), base64.StdEncoding.EncodeToString(raw),
			base64.StdEncoding.EncodeToString([]byte("0x"+plain+"\n")))
	}
	low := strings.ToLower(out)
	for _, f := range forms {
		for i := 0; i+16 <= len(f); i++ {
			w := f[i : i+16]
			if strings.Contains(out, w) || strings.Contains(low, strings.ToLower(w)) && isHexString(w) {
				t.Fatalf("16 characters of a key (%q…) are in the output:\n%s", w[:4], out)
			}
		}
	}
	if leaks := clitest.Leaks(out); len(leaks) > 0 {
		t.Fatalf("leak scan: %v\n%s", leaks, out)
	}
}

func isHexString(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
