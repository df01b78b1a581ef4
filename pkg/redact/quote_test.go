package redact

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func TestQuoteHidesKeysAndCredentialsByShape(t *testing.T) {
	t.Parallel()
	k := strings.Repeat("7c", 32)
	cases := map[string]string{
		k:                                   `"(64 hex digits, not shown)"`,
		"0x" + strings.ToUpper(k):           `"(64 hex digits, not shown)"`,
		k + "00":                            `"(66 hex digits, not shown)"`,
		"/x/" + k + ".hex":                  `"/x/(64 hex digits, not shown).hex"`,
		"file:///keys/0x" + k:               `"file:///keys/(64 hex digits, not shown)"`,
		"ftp://user:s3cr3tpass@host/APIKEY": `"ftp://***@host/***"`,
		"user:s3cr3tpass@host/APIKEY":       `"***@host/***"`,
		"mainnet.example.io/v2/APIKEY":      `"mainnet.example.io/***"`,
		"http://user:pw@ho st/KEY":          `"http://***@ho st/***"`,
		"https://h/v2/" + k:                 `"https://h/***"`,
		"https://" + k + ".example":         `"https://(64 hex digits, not shown).example"`,
		"aws-sm://vrwx/prod?region=../etc":  `"aws-sm://vrwx/prod?region=../etc"`,
		"wss://user@h:8546?token=abc":       `"wss://***@h:8546/***"`,
		"line\nbreak\x1b[2J":                `"line\nbreak\x1b[2J"`,
		// What is no key and no credential is shown as typed.
		"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC": `"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"`,
		"0.5ether": `"0.5ether"`, "localhost:8545": `"localhost:8545"`, "data/api.db": `"data/api.db"`,
		"https://mainnet.base.org": `"https://mainnet.base.org"`, "alice@example.com": `"alice@example.com"`,
		k[:63]: `"` + k[:63] + `"`,
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := QuoteHash("0x" + k); got != `"0x`+k+`"` {
		t.Errorf("QuoteHash hides a hash: %s", got)
	}
	if got := QuoteHash("https://u:p@h/v2/KEY"); got != `"https://***@h/***"` {
		t.Errorf("QuoteHash shows credentials: %s", got)
	}
	if got := MaskHex("https://u:p@h/x/" + k); got != "https://u:p@h/x/(64 hex digits, not shown)" {
		t.Errorf("MaskHex = %q", got)
	}
}

// A library's message is masked value by value: each quoted string as one value,
// the rest as text.
func TestMaskText(t *testing.T) {
	t.Parallel()
	k := strings.Repeat("ab", 33)
	for in, want := range map[string]string{
		`unknown command "mainnet.example.io/v2/KEY" for "vrwxctl completion bash"`:                         `unknown command "mainnet.example.io/***" for "vrwxctl completion bash"`,
		`invalid argument "` + k + `" for "--timeout" flag: time: unknown unit "x" in duration "` + k + `"`: `invalid argument "(66 hex digits, not shown)" for "--timeout" flag: time: unknown unit "x" in duration "(66 hex digits, not shown)"`,
		"unknown flag: --" + k:                           "unknown flag: --(66 hex digits, not shown)",
		"open ftp://u:pw@h/KEY: no such file":            "open ftp://***@h/***: no such file",
		"directory /srv/user:pw@host does not exist":     "directory /srv/***@host does not exist",
		`yaml: line 3: did not find expected ',' or ']'`: `yaml: line 3: did not find expected ',' or ']'`,
	} {
		if got := MaskText(in); got != want {
			t.Errorf("MaskText(%q)\n= %q\nwant %q", in, got, want)
		}
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// What the user typed is registered by every 64-digit window of its hex runs: the
// key is removed wherever it appears, alone or glued to more hex.
func TestRegisterInput(t *testing.T) {
	t.Parallel()
	k := randomHex(t)
	RegisterInput("--amount=" + k + "00wei")
	for _, s := range []string{k, "0x" + strings.ToUpper(k), "value " + k + "00 and more", "ff" + k} {
		if got := Text(s); strings.Contains(strings.ToLower(got), k[:16]) {
			t.Errorf("Text(%q) = %q: the typed key is still there", s, got)
		}
	}
	other := randomHex(t)
	if Text(other) != other {
		t.Error("an unregistered run was changed")
	}
	if !HasHexRun("x"+k+"y") || HasHexRun(k[:63]) {
		t.Error("HasHexRun")
	}
}

// A registered key is removed in the forms a script may print it in: hex
// reversed, bytes reversed, base64 of the bytes or of the hex, and base64 wrapped
// over lines as base64(1) writes it.
func TestKeyForms(t *testing.T) {
	t.Parallel()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	RegisterKey(b)
	h := hex.EncodeToString(b)
	revHex := []byte(h)
	slices.Reverse(revHex)
	revBytes := slices.Clone(b)
	slices.Reverse(revBytes)
	b64file := base64.StdEncoding.EncodeToString([]byte("0x" + h + "\n"))
	for name, form := range map[string]string{
		"reversed hex":      string(revHex),
		"reversed bytes":    hex.EncodeToString(revBytes),
		"base64":            base64.StdEncoding.EncodeToString(b),
		"base64url":         base64.RawURLEncoding.EncodeToString(b),
		"base64 of the hex": base64.StdEncoding.EncodeToString([]byte(h)),
		"base64 of a file":  b64file,
		"wrapped base64":    b64file[:76] + "\n" + b64file[76:],
	} {
		got := Text("printed: " + form + " done")
		for i := 0; i+16 <= len(form); i++ {
			if w := form[i : i+16]; !strings.Contains(w, "\n") && strings.Contains(got, w) {
				t.Errorf("%s: %q… still shown in %q", name, w, got)
				break
			}
		}
		if !strings.HasPrefix(got, "printed: ") || !strings.HasSuffix(got, " done") {
			t.Errorf("%s: the text around it was changed: %q", name, got)
		}
	}
}

// A registered secret is removed whole, cut short or glued to other text, through
// a Writer too, even written in pieces.
func TestRegisterSecret(t *testing.T) {
	t.Parallel()
	s := "hvs.CAESIvrwxQuoteTestToken42"
	RegisterSecret(s)
	RegisterSecret("short") // too short to remove from every output: ignored
	for _, in := range []string{s, "VAULT_TOKEN=" + s, s[:20], "x" + s[3:] + "y"} {
		if got := Text(in); strings.Contains(got, s[4:16]) {
			t.Errorf("Text(%q) = %q", in, got)
		}
	}
	if got := Text("a short word"); got != "a short word" {
		t.Errorf("a secret under 8 characters was registered: %q", got)
	}
	var out strings.Builder
	w := NewWriter(&out, true)
	_, _ = w.Write([]byte("token " + s[:10]))
	_, _ = w.Write([]byte(s[10:] + " end\n"))
	_ = w.Flush()
	if strings.Contains(out.String(), s[4:16]) || !strings.Contains(out.String(), SecretPlaceholder) {
		t.Errorf("Writer: %q", out.String())
	}
}

func TestURLsOfAnyScheme(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"dial ftp://u:pw@h/KEY failed":            "dial ftp://***@h/*** failed",
		"see file:///keys/relayer.hex":            "see file:///keys/relayer.hex",
		"backups in s3://bucket/prod/vrwx.db.gz":  "backups in s3://bucket/prod/vrwx.db.gz",
		"login user:pw@db.example/KEY then":       "login ***@db.example/*** then",
		"mail alice@example.com":                  "mail alice@example.com",
		"vault://secret/vrwx/prod#RELAYER_KEY ok": "vault://secret/vrwx/prod#RELAYER_KEY ok",
	} {
		if got := URLs(in); got != want {
			t.Errorf("URLs(%q) = %q, want %q", in, got, want)
		}
	}
}

// On a colour terminal a URL is wrapped in vrwxctl's own colour sequences: the
// reset after it ends the URL (the path is judged as in plain text, the colour is
// turned off), and a colour before user:password@ is not taken for the user.
func TestURLsInColour(t *testing.T) {
	t.Parallel()
	const faint, reset = "\x1b[2m", "\x1b[0m"
	for in, want := range map[string]string{
		faint + "http://127.0.0.1:1/health" + reset + "\n":         faint + "http://127.0.0.1:1/health" + reset + "\n",
		faint + "http://u:pw@h:1/KEY" + reset + " · 2ms":           faint + "http://***@h:1/***" + reset + " · 2ms",
		"dial " + faint + "ftp://u:pw@h/KEY" + reset:               "dial " + faint + "ftp://***@h/***" + reset,
		"login " + faint + "user:pw@db.example/KEY" + reset + "\n": "login " + faint + "***@db.example/***" + reset + "\n",
	} {
		if got := URLs(in); got != want {
			t.Errorf("URLs(%q) = %q, want %q", in, got, want)
		}
		if plain := URLs(strings.NewReplacer(faint, "", reset, "").Replace(in)); plain != strings.NewReplacer(faint, "", reset, "").Replace(want) {
			t.Errorf("without colour URLs = %q", plain)
		}
	}
}

// The scrubber's cost per byte of output, with a key and a secret registered (a
// command that loaded a key), on a listing's worth of text: tx hashes, addresses,
// URLs.
func BenchmarkText(b *testing.B) {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	RegisterKey(k)
	RegisterSecret("hvs.CAESIvrwxBenchToken")
	line := "2026-01-01 00:00:00 UTC  mined  wallet fund  0x70997970C51812dc3A010C7d01b50e0d17dc79C8  0x" +
		strings.Repeat("5c", 32) + "  https://mainnet.base.org  fund(to=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC, amount=0.5 ETH)\n"
	text := strings.Repeat(line, (1<<20)/len(line))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		_ = Text(text)
	}
}
