package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"go.yaml.in/yaml/v3"
)

// workflow is the part of a GitHub Actions workflow file the test reads.
type workflow struct {
	On struct {
		Schedule         []struct{ Cron string } `yaml:"schedule"`
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Options []string `yaml:"options"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Defaults struct {
		Run struct{ Shell string } `yaml:"run"`
	} `yaml:"defaults"`
	Concurrency struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Needs string            `yaml:"needs"`
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Name string            `yaml:"name"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// vrwxctlLine is the vrwxctl command in a run script: continuation lines joined,
// cut before a pipe, split as bash splits it (no expansion).
func vrwxctlLine(t *testing.T, run string) []string {
	t.Helper()
	script := strings.ReplaceAll(run, "\\\n", " ")
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "vrwxctl ") {
			continue
		}
		line, _, _ = strings.Cut(line, " | ")
		argv, err := rotation.SplitCommand(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return argv[1:]
	}
	return nil
}

func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// The scheduled rotation in docs/examples parses as a workflow and does what
// docs/rotation.md says: weekly, staging (30 days, base-sepolia) before production
// (90 days, base-mainnet), non-interactive JSON runs of real vrwxctl command lines
// (checked against the command tree), resume and rollback by hand from a fresh
// runner (nothing kept between runs: the store and the chain hold the rotation, so
// the resume names the treasury and the deploy command itself), the journal kept
// as an artifact, pipefail so vrwxctl's exit code is the step's.
func TestRotationWorkflowExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "rotate-relayer-key.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("docs/examples/rotate-relayer-key.yml is not YAML: %v", err)
	}
	if len(wf.On.Schedule) != 1 || len(strings.Fields(wf.On.Schedule[0].Cron)) != 5 {
		t.Fatalf("schedule %+v: want one five-field cron", wf.On.Schedule)
	}
	if got := wf.On.WorkflowDispatch.Inputs["action"].Options; !slices.Equal(got, []string{"rotate", "resume", "rollback"}) {
		t.Fatalf("workflow_dispatch action options %v", got)
	}
	if wf.Defaults.Run.Shell != "bash" || wf.Concurrency.Group == "" || wf.Concurrency.CancelInProgress {
		t.Fatalf("defaults %+v concurrency %+v: want bash (pipefail) and one run at a time, never cancelled", wf.Defaults, wf.Concurrency)
	}
	want := map[string]struct{ profile, age string }{
		"staging":    {"base-sepolia", "30d"},
		"production": {"base-mainnet", "90d"},
	}
	if len(wf.Jobs) != len(want) || wf.Jobs["production"].Needs != "staging" {
		t.Fatalf("jobs: want staging, then production")
	}
	for name, w := range want {
		job := wf.Jobs[name]
		if job.Env["VRWX_PROFILE"] != w.profile {
			t.Errorf("%s: VRWX_PROFILE %q, want %s", name, job.Env["VRWX_PROFILE"], w.profile)
		}
		// The amount comes from the profile: the runbook's 0.5 ETH in production,
		// 0.1 on staging.
		cfg, err := config.Load(config.Options{Profile: w.profile, LookupEnv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatal(err)
		}
		if fund := map[string]string{"base-mainnet": "0.5", "base-sepolia": "0.1"}[w.profile]; cfg.String("rotation_fund_eth") != fund {
			t.Errorf("%s: rotation_fund_eth %q, want %s", w.profile, cfg.String("rotation_fund_eth"), fund)
		}
		actions := map[string][]string{}
		var cached, artifact bool
		for _, st := range job.Steps {
			if strings.HasPrefix(st.Uses, "actions/cache") {
				cached = true
			}
			if strings.HasPrefix(st.Uses, "actions/upload-artifact@") && st.If == "always()" && strings.Contains(st.With["path"], "rotations") {
				artifact = true
			}
			args := vrwxctlLine(t, st.Run)
			if args == nil || args[0] != "key" {
				continue
			}
			checkArgs(t, name+" step "+st.Name, args)
			action, ok := strings.CutPrefix(st.If, "env.ACTION == '")
			if !ok {
				t.Errorf("%s: step %q runs without an action condition", name, st.Name)
			}
			actions[strings.TrimSuffix(action, "'")] = args
			for _, flag := range []string{"--yes"} {
				if !slices.Contains(args, flag) {
					t.Errorf("%s: %q lacks %s", name, st.Name, flag)
				}
			}
			if o, _ := flagValue(args, "-o"); o != "json" {
				t.Errorf("%s: %q does not write JSON", name, st.Name)
			}
			if !strings.Contains(st.Run, "| tee rotation.json") {
				t.Errorf("%s: %q does not keep its JSON", name, st.Name)
			}
			for _, a := range args {
				if v, ok := strings.CutPrefix(a, "$"); ok && job.Env[v] == "" {
					t.Errorf("%s: %q uses $%s, which the job does not set", name, st.Name, v)
				}
			}
			if cmd, ok := flagValue(args, "--deploy-cmd"); ok {
				if argv, err := rotation.SplitCommand(cmd); err != nil || argv[0] != "kubectl" {
					t.Errorf("%s: --deploy-cmd %q: %v", name, cmd, err)
				}
			}
		}
		rot, res, back := actions["rotate"], actions["resume"], actions["rollback"]
		if rot == nil || res == nil || back == nil {
			t.Fatalf("%s: want rotate, resume and rollback steps, got %v", name, actions)
		}
		if age, _ := flagValue(rot, "--if-older-than"); age != w.age {
			t.Errorf("%s: rotates keys older than %q, want %s", name, age, w.age)
		}
		for _, f := range []string{"--store", "--treasury-signer", "--deploy-cmd"} {
			if _, ok := flagValue(rot, f); !ok {
				t.Errorf("%s: the rotation lacks %s", name, f)
			}
		}
		if !slices.Contains(res, "--resume") || !slices.Contains(back, "--rollback") {
			t.Errorf("%s: resume %v rollback %v", name, res, back)
		}
		for _, f := range []string{"--treasury-signer", "--deploy-cmd"} {
			if _, ok := flagValue(res, f); !ok {
				t.Errorf("%s: the resume on a fresh runner lacks %s (it has no journal to take it from)", name, f)
			}
		}
		if cached || !artifact {
			t.Errorf("%s: the state directory is cached between runs (%v) or the journal is not kept as an artifact (%v): runners are ephemeral, the store holds the rotation", name, cached, artifact)
		}
	}
}
