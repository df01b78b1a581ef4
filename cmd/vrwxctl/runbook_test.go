package main_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestMain(m *testing.M) { clitest.Main(m) }

type runbookLine struct {
	line    int
	command string
	exit    int
}

var exitComment = regexp.MustCompile(`\s+#\s*exit\s+(\d+)\s*$`)

// runbookCommands returns every vrwxctl line inside a fenced code block of docs/RUNBOOK.md.
func runbookCommands(t *testing.T) []runbookLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []runbookLine
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || !strings.HasPrefix(strings.TrimSpace(text), "vrwxctl ") {
			continue
		}
		l := runbookLine{line: n, command: strings.TrimSpace(text)}
		if m := exitComment.FindStringSubmatch(l.command); m != nil {
			l.exit, _ = strconv.Atoi(m[1])
			l.command = strings.TrimSpace(exitComment.ReplaceAllString(l.command, ""))
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		t.Fatal("docs/RUNBOOK.md has no vrwxctl commands")
	}
	return out
}

// Every vrwxctl line of docs/RUNBOOK.md runs, as pasted into bash, against a local
// chain with the runbook's variables set, and exits as the page says.
func TestRunbookCommands(t *testing.T) {
	e := clitest.NewChain(t)
	bin := clitest.Binary(t)
	vars := map[string]string{
		"PATH":                filepath.Dir(bin) + ":" + os.Getenv("PATH"),
		"RELAYER_ADDRESS":     e.D.Relayer.Hex(),
		"RELAYER_PRIVATE_KEY": devchain.DevKeyHex(devchain.AccountRelayer),
		"JOB_ID":              strconv.FormatUint(e.D.Jobs[devchain.JobFunded], 10),
		"ROBOT_ID":            e.D.Robots[devchain.RobotActive].ID.Hex(),
		"TREASURY_ADDRESS":    e.D.Treasury.Hex(),
	}
	for k, v := range e.Vars {
		vars[k] = v
	}
	for _, l := range runbookCommands(t) {
		t.Run(strconv.Itoa(l.line), func(t *testing.T) {
			cmd := exec.Command("bash", "-c", l.command)
			for k, v := range vars {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			clitest.Record(l.command, string(out), code)
			if code != l.exit {
				t.Fatalf("docs/RUNBOOK.md:%d `%s` exited %d, the page says %d:\n%s", l.line, l.command, code, l.exit, out)
			}
		})
	}
}
