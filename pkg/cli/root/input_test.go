package root_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// oneJSONDocument decodes stdout as exactly one JSON document.
func oneJSONDocument(t *testing.T, r clitest.Result) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(r.Stdout)))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not a JSON document (%v):\n%s", err, r)
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON document:\n%s", r)
	}
	return doc
}

// -o json means one JSON document on stdout whatever happens, parse errors included:
// a script reads one document and the exit code.
func TestJSONOutputIsOneDocumentOnParseErrors(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for _, args := range [][]string{
		{"wallt", "-o", "json"},                                                      // unknown command
		{"wallet", "blance", "-o", "json"},                                           // unknown command in a group
		{"status", "--adress", "0x0", "-o", "json"},                                  // unknown flag, before -o
		{"-ojson", "status", "--timeout", "soon"},                                    // bad flag value
		{"--output=json", "wallet", "balance", "a", "b"},                             // wrong number of arguments
		{"tx", "status", "-o", "json"},                                               // missing argument
		{"wallet", "balance", "0x12", "--output", "json"},                            // bad argument
		{"wallet", "fund", "--amount", "1ether", "--amount", "2ether", "-o", "json"}, // flag twice
		// Commands added later get the same from the root.
		{"key", "rotat", "-o", "json"},
		{"audit", "list", "--limit", "1", "--limit", "2", "-o", "json"},
		{"doctor", "relay", "--blocks", "0o7", "-o", "json"},
		{"key", "rotate", "--store", "file:///k", "--fund", "0.5", "-o", "json"},
		{"status", "--chain", "-o", "json"},
		{"exporter", "--interval", "soon", "-o", "json"},
	} {
		r := e.Run(args...)
		if r.Code != 2 {
			t.Errorf("want exit 2:\n%s", r)
			continue
		}
		doc := oneJSONDocument(t, r)
		var body ui.ErrorJSON
		r.JSON(t, &body)
		if body.Error.Code != 2 || body.Error.Kind != "usage" || body.Error.Message == "" || doc["error"] == nil {
			t.Errorf("error document %+v:\n%s", body, r)
		}
	}
	// Text output stays text.
	if r := e.Run("wallt"); r.Code != 2 || r.Stdout != "" {
		t.Fatalf("text parse error:\n%s", r)
	}
}

// tx status of a hash no node knows printed its status document and then an error
// document; the status document is the one, and the error goes to stderr.
func TestTxStatusUnknownIsOneDocument(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	hash := "0x" + strings.Repeat("ab", 32)
	r := e.Run("tx", "status", hash, "-o", "json")
	doc := oneJSONDocument(t, r)
	if r.Code != 1 || doc["state"] != "unknown" || !strings.Contains(r.Stderr, "unknown to the node") {
		t.Fatalf("want exit 1, one status document with state unknown, the error on stderr:\n%s", r)
	}
}

// A mistyped subcommand in a group is exit 2 with a suggestion — not the group's
// help and exit 0, which a script takes for success. The group alone still helps.
func TestMistypedSubcommandIsUsage(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for args, want := range map[string]string{
		"wallet blance": `did you mean "balance"`, "key genrate": `did you mean "generate"`,
		"db bakup": `did you mean "backup"`, "wallet frobnicate": `unknown command "frobnicate" for "vrwxctl wallet"`,
		"key rotat": `did you mean "rotate"`, "audit lst": `did you mean "list"`, "doctor rely": `did you mean "relay"`,
		"wallet histroy": `did you mean "history"`,
		// The top level answers in the same one line, no tab shown escaped.
		"walet":                  `unknown command "walet" for "vrwxctl"; did you mean "wallet"?`,
		"--profile local stauts": `unknown command "stauts" for "vrwxctl"; did you mean "status"?`,
		"frobnicate":             `unknown command "frobnicate" for "vrwxctl"`,
	} {
		r := e.Run(strings.Fields(args)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, want) || r.Stdout != "" || strings.Contains(r.Stderr, `\t`) {
			t.Errorf("want exit 2 with %q:\n%s", want, r)
		}
	}
	if r := e.MustRun(0); !strings.Contains(r.Stdout, "Operations:") || !strings.Contains(r.Stdout, "vrwxctl [command]") ||
		strings.Contains(r.Stdout, "vrwxctl [flags]") {
		t.Fatalf("vrwxctl alone should print its help, with the usage line of a command of commands:\n%s", r)
	}
	if r := e.MustRun(0, "wallet"); !strings.Contains(r.Stdout, "Available Commands") {
		t.Fatalf("the group alone should print its help:\n%s", r)
	}
	// Its usage lines are a group's: the action that refuses is not a use of it.
	if r := e.MustRun(0, "db", "--help"); !strings.Contains(r.Stdout, "vrwxctl db [command]") || strings.Contains(r.Stdout, "vrwxctl db [flags]") {
		t.Fatalf("db --help should show only the group's usage line:\n%s", r)
	}
}

// Ids and counts are decimal, or hex with 0x, in every command: 010 is ten (not
// octal eight), 0x0a is ten, and octal, binary, signs and underscores are refused.
func TestNumbersMeanOneThing(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	ten := e.Run("job", "get", "10", "-o", "json")
	for _, s := range []string{"010", "0010", "0x0a", "0XA"} {
		r := e.Run("job", "get", s, "-o", "json")
		if r.Code != ten.Code || r.Stdout != ten.Stdout {
			t.Errorf("job get %s is not job 10:\n%s\n--- job 10:\n%s", s, r, ten)
		}
	}
	for _, args := range [][]string{
		{"job", "get", "0o12"}, {"job", "get", "0b1010"}, {"job", "get", "1_0"}, {"job", "get", "+10"},
		{"dlq", "show", "0o12", "--db", "/nonexistent"}, {"dlq", "list", "--limit", "0b11", "--db", "/nonexistent"},
		{"job", "events", "--chunk", "1_000"}, {"robot", "verify-sig", "--job", "1", "--quality", "0o120", "--work-units", "1",
			"--completion-hash", "0x" + strings.Repeat("1", 64), "--sig", "0x" + strings.Repeat("2", 130)},
		{"tx", "speedup", "--nonce", "0b1", "--signer", "env://T"}, {"wallet", "balance", devchain.DevAddress(0).Hex(), "--block", "0o7"},
		{"wallet", "history", devchain.DevAddress(0).Hex(), "--blocks", "0o7"}, {"wallet", "history", devchain.DevAddress(0).Hex(), "--limit", "1_0"},
		{"doctor", "relay", "--address", devchain.DevAddress(0).Hex(), "--blocks", "1e2"}, {"audit", "list", "--limit", "0b1"},
	} {
		r := e.Run(args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "decimal digits, or 0x followed by hex digits") {
			t.Errorf("want exit 2 naming the number form:\n%s", r)
		}
	}
	// The same form in the counts pflag would read as octal.
	r := e.Run("dlq", "list", "--limit", "010", "--db", "/nonexistent")
	if r.Code != 2 || !strings.Contains(r.Stderr, "/nonexistent does not exist") {
		t.Fatalf("--limit 010 should parse (as ten) and reach the database check:\n%s", r)
	}
}

// A mistyped flag gets the nearest real one of that command — a typo, a missing or
// doubled letter, two letters swapped, a prefix — and nothing when none is near.
func TestMistypedFlagsSayDidYouMean(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"wallet", "fund", "--amout", "1ether"}, "--amount"},
		{[]string{"wallet", "fund", "--singer", "env://K"}, "--signer"},
		{[]string{"status", "--adress", "0x0"}, "--address"},
		{[]string{"audit", "list", "--limt", "3"}, "--limit"},
		{[]string{"key", "rotate", "--treasury", "env://T"}, "--treasury-signer"},
		{[]string{"status", "--no-colour"}, "--no-color"},
		{[]string{"job", "list", "--wdie"}, "--wide"},
		{[]string{"status", "--xyzzy"}, ""},
	} {
		r := e.Run(c.args...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2:\n%s", c.args, r.Code, r)
			continue
		}
		switch {
		case c.want == "" && strings.Contains(r.Stderr, "did you mean"):
			t.Errorf("%v: a suggestion for a word near no flag:\n%s", c.args, r)
		case c.want != "" && !strings.Contains(r.Stderr, "did you mean "+c.want+"?"):
			t.Errorf("%v: no \"did you mean %s?\":\n%s", c.args, c.want, r)
		}
	}
}
