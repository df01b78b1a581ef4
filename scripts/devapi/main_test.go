package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/health"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// devapiBinary builds this command once per test process: the tests run it as a
// real process, so SIGHUP and SIGTERM are real signals.
func devapiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "devapi-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "devapi")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build ./scripts/devapi: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newKey returns a fresh key's hex (as a key file holds it) and its address.
func newKey(t *testing.T) (string, common.Address) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(crypto.FromECDSA(k)), crypto.PubkeyToAddress(k.PublicKey)
}

// writeKey replaces path with a 0600 key file, atomically, as a store's promote does.
func writeKey(t *testing.T, path, keyHex string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(keyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func getHealth(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// waitFor polls cond every 50 ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devapi serves the spec's /health for the key behind a file:// reference, keeps
// serving the address it loaded at start when the file changes, reloads it on
// SIGHUP (the demo's "rollout restart"), keeps the old one when a reload cannot
// read the key, stops on SIGTERM removing its pid file, and never prints a key.
func TestDevapiServesHealthAndReloadsOnSIGHUP(t *testing.T) {
	t.Parallel()
	bin := devapiBinary(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "relayer.hex")
	keyA, addrA := newKey(t)
	keyB, addrB := newKey(t)
	writeKey(t, keyFile, keyA)
	pidFile := filepath.Join(dir, "devapi.pid")
	port := freePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"

	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--chain-id", "31337",
		"--signer", "file://"+keyFile, "--pid-file", pidFile)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	waitFor(t, 20*time.Second, "the pid file", func() bool {
		raw, err := os.ReadFile(pidFile)
		return err == nil && strings.TrimSpace(string(raw)) == strconv.Itoa(cmd.Process.Pid)
	})

	// The answer is the spec's JSON: exactly its fields, with their types.
	code, body := getHealth(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET /health: HTTP %d %s", code, body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("/health is not JSON: %v\n%s", err, body)
	}
	want := map[string]any{"status": "ok", "strictMode": true, "storageRequired": true, "schemaVersion": 7.0,
		"relayMode": "relay", "relayerAddress": addrA.Hex(), "chainId": 31337.0}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("/health %s = %#v, want %#v", k, raw[k], v)
		}
	}
	ts, _ := raw["timestamp"].(string)
	if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(at).Abs() > time.Minute {
		t.Errorf("/health timestamp %q is not the current ISO-8601 time (%v)", ts, err)
	}
	if len(raw) != len(want)+1 {
		t.Errorf("/health has fields beyond the spec's: %s", body)
	}
	h, err := health.Decode(body)
	if err != nil || h.RelayerAddress == nil || *h.RelayerAddress != addrA || h.ChainID != 31337 {
		t.Fatalf("vrwxctl's decoder reads %+v, %v from %s", h, err, body)
	}

	// The key file changes (a promote): the running API still relays from the key
	// it loaded at start, until it is restarted.
	writeKey(t, keyFile, keyB)
	if _, body := getHealth(t, url); !bytes.Contains(body, []byte(addrA.Hex())) {
		t.Fatalf("/health changed before SIGHUP: %s", body)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/health to report the new key after SIGHUP", func() bool {
		_, body := getHealth(t, url)
		return bytes.Contains(body, []byte(`"relayerAddress":"`+addrB.Hex()+`"`))
	})

	// A restart that cannot read the key keeps the instance serving the last one.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "devapi to report the failed reload", func() bool {
		return strings.Contains(out.String(), "still relaying from "+addrB.Hex())
	})
	if code, body := getHealth(t, url); code != http.StatusOK || !bytes.Contains(body, []byte(addrB.Hex())) {
		t.Errorf("after a failed reload /health answers HTTP %d %s", code, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("devapi after SIGTERM: %v\nstderr: %s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("devapi did not stop within 10s of SIGTERM")
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after exit: %v", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after exit", port)
	}

	printed := out.String() + errOut.String()
	for _, want := range []string{"relaying from " + addrA.Hex(), "relaying from " + addrB.Hex() + " (was " + addrA.Hex() + ")"} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
	for _, k := range []string{keyA, keyB} {
		if strings.Contains(strings.ToLower(printed), strings.TrimPrefix(k, "0x")) {
			t.Fatalf("devapi printed a private key:\n%s", printed)
		}
	}
}

// Bad flags exit 2 naming the value and the expected form; a key given where a
// reference belongs is refused without being echoed; a key that cannot be loaded
// at start exits 1 naming the reference.
func TestDevapiBadInput(t *testing.T) {
	t.Parallel()
	bin := devapiBinary(t)
	rawKey, _ := newKey(t)
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"no signer", nil, nil, 2, "--signer is required"},
		{"raw key", []string{"--signer", rawKey}, nil, 2, "a raw private key was given where a signer reference was expected"},
		{"bad scheme", []string{"--signer", "s3://bucket/key"}, nil, 2, `unknown scheme "s3"`},
		{"bad port", []string{"--signer", "env://K", "--port", "70000"}, nil, 2, "--port 70000: expected 1..65535"},
		{"bad addr", []string{"--signer", "env://K", "--addr", "localhost"}, nil, 2, `--addr "localhost": expected HOST:PORT`},
		{"port and addr", []string{"--signer", "env://K", "--port", "3001", "--addr", "127.0.0.1:3002"}, nil, 2, "both --port and --addr"},
		{"chain 0", []string{"--signer", "env://K", "--chain-id", "0"}, nil, 2, "--chain-id 0: expected a chain id"},
		{"argument", []string{"--signer", "env://K", "serve"}, nil, 2, `unexpected argument "serve"`},
		{"unset env", []string{"--signer", "env://DEVAPI_TEST_UNSET", "--port", strconv.Itoa(freePort(t))}, nil, 2, "load the relayer key of env://DEVAPI_TEST_UNSET"},
		{"bad key", []string{"--signer", "env://K", "--port", strconv.Itoa(freePort(t))}, []string{"K=0x1234"}, 2, "load the relayer key of env://K: the value of env://K has 4 hex digits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, c.env...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || !strings.Contains(errOut.String(), c.want) {
				t.Errorf("devapi %v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut.String(), c.code, c.want)
			}
			if strings.Contains(strings.ToLower(out.String()+errOut.String()), strings.TrimPrefix(rawKey, "0x")) {
				t.Errorf("devapi %v printed the key", c.args)
			}
		})
	}
}
