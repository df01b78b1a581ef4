package redact

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	RegisterKey(b)
	return hex.EncodeToString(b)
}

func TestKeysInEveryForm(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	other := strings.Repeat("ab", 32) // 64 hex, never registered: a transaction hash, say
	for _, in := range []string{
		k, "0x" + k, "0X" + strings.ToUpper(k), strings.ToUpper(k),
		`{"RELAYER_PRIVATE_KEY":"0x` + k + `"}`,
		"error: invalid value 0x" + k + ": rejected",
		"glued" + k + "ff00", // inside a longer hex run
	} {
		got := Text(in)
		if strings.Contains(strings.ToLower(got), k) || !strings.Contains(got, Placeholder) {
			t.Errorf("Text(%q) = %q: key still there", in, got)
		}
	}
	if got := Text("tx 0x" + other); got != "tx 0x"+other {
		t.Errorf("an unregistered 64-hex value was changed: %q", got)
	}
	if got := Text("0x" + k + " and 0x" + k); strings.Count(got, Placeholder) != 2 || strings.Contains(got, "0x[") {
		t.Errorf("two keys: %q", got)
	}
}

func TestURLs(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"https://mainnet.base.org":                               "https://mainnet.base.org",
		"https://base-mainnet.g.alchemy.com/v2/abcdef0123456789": "https://base-mainnet.g.alchemy.com/***",
		"https://user:pass@rpc.example/":                         "https://***@rpc.example",
		"http://127.0.0.1:8545":                                  "http://127.0.0.1:8545",
		"https://rpc.example/?apikey=secret":                     "https://rpc.example/***",
		"https://rpc.example?key=secret":                         "https://rpc.example/***",
		"http://h/v2/APIKEY":                                     "http://h/***",
		"http://h/v2/apikey":                                     "http://h/***",
		"http://127.0.0.1:9090/metrics":                          "http://127.0.0.1:9090/metrics",
		"https://***@rpc.example/***":                            "https://***@rpc.example/***",
	}
	for in, want := range cases {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	// Go's transport error: the password is already masked, user, path and query are not.
	in := `Post "http://alice:***@127.0.0.1:1/v2/Xk9ApiKey?key=S3CRET": dial tcp 127.0.0.1:1: connect: connection refused`
	got := Text(in)
	for _, leak := range []string{"alice", "Xk9ApiKey", "S3CRET"} {
		if strings.Contains(got, leak) {
			t.Errorf("Text left %q in %q", leak, got)
		}
	}
	if !strings.Contains(got, `"http://***@127.0.0.1:1/***": dial tcp`) {
		t.Errorf("Text(%q) = %q", in, got)
	}
	// In JSON the quote is escaped; the backslash ends the URL, so the JSON stays valid.
	if got := Text(`{"m":"Post \"http://u@h/k1?x=y\": refused"}`); got != `{"m":"Post \"http://***@h/***\": refused"}` {
		t.Errorf("JSON: %q", got)
	}
	if got := Text("see http://h/k1234, then retry."); got != "see http://h/***, then retry." {
		t.Errorf("punctuation: %q", got)
	}
}

func TestLooksLikeKey(t *testing.T) {
	t.Parallel()
	k := strings.Repeat("1f", 32)
	for s, want := range map[string]bool{
		k: true, "0x" + k: true, " 0X" + k + "\n": true, k[:63]: false, k + "0": false,
		"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC": false, "8453": false,
	} {
		if LooksLikeKey(s) != want {
			t.Errorf("LooksLikeKey(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{
		"file:///tmp/" + k: true, "file:///tmp/0x" + k + ".hex": true, "/keys/UTC--2024--3c44cdddb6a900fa2b585dd299e03d12fa4293bc": false,
		"x" + k + "0": false,
	} {
		if ContainsKeyLike(s) != want {
			t.Errorf("ContainsKeyLike(%q) = %v", s, !want)
		}
	}
}

func TestRegisterKeyLike(t *testing.T) {
	t.Parallel()
	k := strings.Repeat("7e", 32)
	if !RegisterKeyLike("file:///keys/0x" + k + ".hex") {
		t.Fatal("a key-shaped run was not registered")
	}
	if got := Text("value " + strings.ToUpper(k)); strings.Contains(strings.ToLower(got), k) {
		t.Fatalf("registered hex still shown: %q", got)
	}
	if RegisterKeyLike("0x1234") || RegisterKeyLike("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC") {
		t.Fatal("a value without a 64-hex run was registered")
	}
}

// A key split across writes, at every position, never reaches the stream.
func TestWriterSplitKey(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	line := "new key 0x" + k + " written\nurl http://u:p@h/v2/Key123?x=1 done"
	for cut := 1; cut < len(line); cut++ {
		var out bytes.Buffer
		w := NewWriter(&out, true)
		fmt.Fprint(w, line[:cut])
		if strings.Contains(out.String(), k[:8]) && !strings.Contains(line[:cut], k) {
			t.Fatalf("cut %d: a piece of the key got through before the rest arrived: %q", cut, out.String())
		}
		fmt.Fprint(w, line[cut:])
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if strings.Contains(got, k[:8]) || strings.Contains(got, "Key123") || strings.Contains(got, "u:p") {
			t.Fatalf("cut %d: %q", cut, got)
		}
		if !strings.HasPrefix(got, "new key "+Placeholder+" written\nurl http://***@h/*** done") {
			t.Fatalf("cut %d: %q", cut, got)
		}
	}
}

func TestWriterKeepsURLsWhenAsked(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out, true)
	w.SetURLs(false)
	fmt.Fprintln(w, "rpc_urls https://rpc.example/v2/abc123")
	if out.String() != "rpc_urls https://rpc.example/v2/abc123\n" {
		t.Fatalf("%q", out.String())
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	t.Parallel()
	base := fmt.Errorf("read http://h/v2/k1?x=y: %w", fs.ErrNotExist)
	err := Error(base)
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "k1") {
		t.Fatalf("%v", err)
	}
	if Error(nil) != nil {
		t.Fatal("Error(nil) is not nil")
	}
}
