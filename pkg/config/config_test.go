package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// env is an isolated environment: XDG directories of its own and a deployment file
// of its own (named, so the .devchain/deployment.json of the checkout the tests run
// in, after `make devchain`, is not found from the working directory), overlaid by m.
func env(t *testing.T, m map[string]string) LookupEnv {
	t.Helper()
	vars := map[string]string{
		"XDG_CONFIG_HOME":    t.TempDir(),
		"XDG_STATE_HOME":     t.TempDir(),
		"VRWXCTL_DEPLOYMENT": filepath.Join(t.TempDir(), "deployment.json"),
	}
	for k, v := range m {
		vars[k] = v
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultProfileIsLocal(t *testing.T) {
	t.Parallel()
	c, err := Load(Options{LookupEnv: env(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "local" || c.String("chain_id") != "31337" {
		t.Fatalf("profile %q chain %q, want local 31337", c.Profile, c.String("chain_id"))
	}
}

func TestPrecedenceFlagEnvFileBuiltin(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `
default_profile: prod
profiles:
  prod:
    extends: base-mainnet
    rpc_urls:
      - https://primary.example/rpc
      - https://backup.example/rpc
    max_fee_gwei: 70
    treasury: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
`)
	c, err := Load(Options{ConfigPath: path, LookupEnv: env(t, map[string]string{"MAX_FEE_PER_GAS_GWEI": "80", "RPC_URL": "https://env.example"}),
		Flags: map[string]string{"rpc_urls": "https://flag.example"}, FlagNames: map[string]string{"rpc_urls": "--rpc-url"}})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, value string
		src        Source
	}{
		{"chain_id", "8453", SrcBuiltin},                                     // from base-mainnet via extends
		{"escrow", "0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B", SrcBuiltin}, // built-in address
		{"treasury", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", SrcFile},
		{"max_fee_gwei", "80", SrcEnv},                // env beats file
		{"rpc_urls", "https://flag.example", SrcFlag}, // flag beats env
		{"max_priority_fee_gwei", "1", SrcBuiltin},
	}
	for _, ck := range checks {
		s, _ := c.Lookup(ck.key)
		if s.Value != ck.value || s.Source != ck.src {
			t.Errorf("%s = %q from %s, want %q from %s", ck.key, s.Value, s.Source, ck.value, ck.src)
		}
	}
	if c.Profile != "prod" || c.ProfileSource != SrcFile {
		t.Errorf("profile %q from %s, want prod from config file", c.Profile, c.ProfileSource)
	}
	// Without the flag the env's RPC wins over the file's two.
	c2, err := Load(Options{ConfigPath: path, LookupEnv: env(t, map[string]string{"RPC_URL": "https://a.example,https://b.example"})})
	if err != nil {
		t.Fatal(err)
	}
	urls, _ := c2.RPCURLs()
	if strings.Join(urls, " ") != "https://a.example https://b.example" {
		t.Errorf("RPC_URL list = %v", urls)
	}
	if s, _ := c2.Lookup("rpc_urls"); s.Detail != "RPC_URL" {
		t.Errorf("env detail %q, want RPC_URL", s.Detail)
	}
}

func TestProfileFromEnvBeatsFileDefault(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "default_profile: base-mainnet\n")
	c, err := Load(Options{ConfigPath: path, LookupEnv: env(t, map[string]string{"VRWX_PROFILE": "base-sepolia"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "base-sepolia" {
		t.Fatalf("profile %q, want base-sepolia", c.Profile)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, profile string
		env                 map[string]string
		want                []string
	}{
		{name: "unknown profile", profile: "prod-typo", want: []string{`unknown profile "prod-typo"`, "base-mainnet", "local"}},
		{name: "yaml syntax", file: "profiles:\n  p:\n    chain_id: [1\n", want: []string{"does not parse", "line"}},
		{name: "unknown key", file: "profiles:\n  p:\n    chian_id: 1\n", profile: "p", want: []string{"line 3", `unknown setting "chian_id"`}},
		{name: "bad address in file", file: "profiles:\n  p:\n    escrow: 0x123\n", profile: "p", want: []string{"line 3", "escrow", `"0x123"`, "40 hex"}},
		{name: "bad checksum env", env: map[string]string{"JOB_ESCROW_ADDRESS": "0x9fe46736679d2D9a65F0992F2272dE9f3c7fa6e0"}, want: []string{"JOB_ESCROW_ADDRESS", "checksum"}},
		{name: "rpc not a url", env: map[string]string{"RPC_URL": "localhost:8545"}, want: []string{"RPC_URL", "localhost:8545"}},
		{name: "fee not a number", env: map[string]string{"MAX_FEE_PER_GAS_GWEI": "fifty"}, want: []string{"MAX_FEE_PER_GAS_GWEI", `"fifty"`, "decimal"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := Options{Profile: tc.profile, LookupEnv: env(t, tc.env)}
			if tc.file != "" {
				o.ConfigPath = writeFile(t, tc.file)
			}
			_, err := Load(o)
			if err == nil {
				t.Fatal("no error")
			}
			if errs.KindOf(err) != errs.Usage {
				t.Errorf("kind %v, want usage: %v", errs.KindOf(err), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMissingExplicitConfigIsAnError(t *testing.T) {
	t.Parallel()
	_, err := Load(Options{ConfigPath: filepath.Join(t.TempDir(), "nope.yaml"), LookupEnv: env(t, nil)})
	if errs.KindOf(err) != errs.Usage {
		t.Fatalf("want usage error, got %v", err)
	}
}

func TestLocalDeploymentFileOverlaysLocal(t *testing.T) {
	t.Parallel()
	e := env(t, nil)
	p := LocalDeploymentFile(e)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"chainId":31337,"rpcUrl":"http://127.0.0.1:9999","escrow":"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{LookupEnv: e})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Lookup("rpc_urls"); s.Value != "http://127.0.0.1:9999" || s.Source != SrcDeployment {
		t.Fatalf("rpc_urls %+v, want deployment file value", s)
	}
	if s, _ := c.Lookup("escrow"); s.Value != "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" {
		t.Fatalf("escrow %+v", s)
	}
	// Other profiles ignore it.
	c2, _ := Load(Options{Profile: "base-mainnet", LookupEnv: e})
	if c2.String("rpc_urls") != "https://mainnet.base.org" {
		t.Fatalf("base-mainnet rpc %q", c2.String("rpc_urls"))
	}
}

func TestProfilesListsBuiltinAndFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "profiles:\n  prod:\n    extends: base-mainnet\n    rpc_urls: https://p.example\n  base-sepolia:\n    rpc_urls: https://s.example\n")
	infos, err := Profiles(Options{ConfigPath: path, Profile: "prod", LookupEnv: env(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ProfileInfo{}
	for _, p := range infos {
		got[p.Name] = p
	}
	if len(got) != 4 || !got["prod"].Current || got["prod"].ChainID != "8453" || got["prod"].RPCURLs[0] != "https://p.example" {
		t.Fatalf("profiles %+v", infos)
	}
	if src := got["base-sepolia"].Source; len(src) != 2 {
		t.Fatalf("base-sepolia sources %v, want built-in+config file", src)
	}
}

// Directories come from the environment the caller hands in, never from the
// process: XDG variables first, then HOME, and no home means no default config file.
// The local deployment is VRWXCTL_DEPLOYMENT or else found from the working directory
// (TestLocalDeploymentIsFoundFromTheWorkingDirectory): never a per-user path that
// every checkout would share.
func TestDirectoriesFollowTheGivenEnvironment(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	found := FindDevchainDeployment(wd)
	vars := func(m map[string]string) LookupEnv {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cases := []struct {
		name                    string
		env                     map[string]string
		file, state, deployment string
	}{
		{name: "xdg", env: map[string]string{"XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s", "HOME": "/h"},
			file: "/c/vrwxctl/config.yaml", state: "/s/vrwxctl", deployment: found},
		{name: "home", env: map[string]string{"HOME": "/h"},
			file: "/h/.config/vrwxctl/config.yaml", state: "/h/.local/state/vrwxctl", deployment: found},
		{name: "deployment override", env: map[string]string{"HOME": "/h", "VRWXCTL_DEPLOYMENT": "/d.json"},
			file: "/h/.config/vrwxctl/config.yaml", state: "/h/.local/state/vrwxctl", deployment: "/d.json"},
		{name: "no home", env: map[string]string{"TMPDIR": "/t"},
			file: "", state: "/t/vrwxctl-state", deployment: found},
		{name: "nil environment", env: nil,
			file: "", state: "/tmp/vrwxctl-state", deployment: found},
	}
	for _, tc := range cases {
		e := vars(tc.env)
		if tc.env == nil {
			e = nil
		}
		if got := DefaultFile(e); got != tc.file {
			t.Errorf("%s: DefaultFile = %q, want %q", tc.name, got, tc.file)
		}
		if got := StateDir(e); got != tc.state {
			t.Errorf("%s: StateDir = %q, want %q", tc.name, got, tc.state)
		}
		if got := LocalDeploymentFile(e); got != tc.deployment {
			t.Errorf("%s: LocalDeploymentFile = %q, want %q", tc.name, got, tc.deployment)
		}
	}
}

// config profiles shows each profile without the invocation's env settings, yet
// still finds the local deployment file where the environment says it is.
func TestProfilesReadTheDeploymentFileTheEnvironmentNames(t *testing.T) {
	t.Parallel()
	dep := filepath.Join(t.TempDir(), "local.json")
	if err := os.WriteFile(dep, []byte(`{"chainId":31337,"rpcUrl":"http://127.0.0.1:7777"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	infos, err := Profiles(Options{LookupEnv: env(t, map[string]string{"VRWXCTL_DEPLOYMENT": dep, "RPC_URL": "https://env.example"})})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range infos {
		if p.Name == "local" {
			if len(p.RPCURLs) != 1 || p.RPCURLs[0] != "http://127.0.0.1:7777" {
				t.Fatalf("local profile RPC %v, want the deployment file's, not RPC_URL's", p.RPCURLs)
			}
			return
		}
	}
	t.Fatalf("no local profile in %+v", infos)
}

// With VRWXCTL_DEPLOYMENT unset, the local profile reads the .devchain/deployment.json
// of the checkout containing the working directory, from any directory inside it —
// each checkout its own chain — and only if it points at the loopback.
func TestLocalDeploymentIsFoundFromTheWorkingDirectory(t *testing.T) {
	// Not parallel: t.Chdir changes the whole process's working directory.
	unnamed := env(t, map[string]string{"VRWXCTL_DEPLOYMENT": ""})
	root := t.TempDir()
	sub := filepath.Join(root, "pkg", "cli")
	if err := os.MkdirAll(filepath.Join(root, ".devchain"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := FindDevchainDeployment(sub); got != "" {
		t.Fatalf("found %q before any deployment exists", got)
	}
	dep := filepath.Join(root, ".devchain", "deployment.json")
	if err := os.WriteFile(dep, []byte(`{"chainId":31337,"rpcUrl":"http://127.0.0.1:18546","escrow":"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := FindDevchainDeployment(sub); got != dep {
		t.Fatalf("FindDevchainDeployment(%s) = %q, want %q", sub, got, dep)
	}
	t.Chdir(sub)
	c, err := Load(Options{LookupEnv: unnamed})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Lookup("rpc_urls"); s.Value != "http://127.0.0.1:18546" || s.Source != SrcDeployment || s.Detail != dep {
		t.Fatalf("rpc_urls %+v, want the checkout's deployment", s)
	}
	// A discovered file may not point the default profile at a real network.
	if err := os.WriteFile(dep, []byte(`{"chainId":8453,"rpcUrl":"https://mainnet.base.org"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{LookupEnv: unnamed}); errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("a discovered non-loopback deployment: %v", err)
	}
	// Named explicitly, the same file is the operator's choice.
	if c, err := Load(Options{LookupEnv: env(t, map[string]string{"VRWXCTL_DEPLOYMENT": dep})}); err != nil || c.String("rpc_urls") != "https://mainnet.base.org" {
		t.Fatalf("named deployment: %v", err)
	}
	// Outside any checkout nothing is found and the built-in local profile stands.
	t.Chdir(t.TempDir())
	if c, err := Load(Options{LookupEnv: unnamed}); err != nil || c.String("rpc_urls") != "http://127.0.0.1:8545" {
		t.Fatalf("no deployment: %v %v", err, c)
	}
}
