package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestColourOnlyOnATerminalAndNeverWithNoColor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tty     bool
		noColor bool
		want    bool
	}{
		{"terminal", true, false, true},
		{"pipe", false, false, false},
		{"terminal with --no-color/NO_COLOR", true, true, false},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		io := &IO{Out: &out, ErrOut: &errOut, OutTTY: tc.tty, ErrTTY: tc.tty, NoColor: tc.noColor, Format: Text}
		t1 := NewTable("NAME", "LEVEL")
		st := io.Styles().Crit
		t1.StyledRow([]string{"balance", "critical"}, []*lipgloss.Style{nil, &st})
		t1.Render(io.Out, io.Styles())
		io.Warnf("careful")
		got := strings.Contains(out.String()+errOut.String(), "\x1b[")
		if got != tc.want {
			t.Errorf("%s: ANSI escapes present = %v, want %v:\n%q\n%q", tc.name, got, tc.want, out.String(), errOut.String())
		}
	}
}

func TestJSONErrorShape(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	io := &IO{Out: &out, ErrOut: &errOut, Format: JSON, NoColor: true}
	io.PrintError(errs.Usagef("--to %q is not an address", "0x12").WithFix("use a 0x address"))
	want := "{\n  \"error\": {\n    \"code\": 2,\n    \"kind\": \"usage\",\n    \"message\": \"--to \\\"0x12\\\" is not an address\",\n    \"fix\": \"use a 0x address\"\n  }\n}\n"
	if out.String() != want {
		t.Fatalf("stdout %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "fix: use a 0x address") {
		t.Fatalf("stderr %q", errOut.String())
	}
}

// NO_COLOR is read from the environment System is given, not from the process.
func TestSystemReadsNoColorFromTheGivenEnvironment(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if io := System(env(map[string]string{"NO_COLOR": ""})); !io.NoColor {
		t.Error("NO_COLOR set (even empty, as no-color.org says): want NoColor")
	}
	if io := System(env(nil)); io.NoColor {
		t.Error("NO_COLOR unset: want colour allowed")
	}
}

// A watch's frame is redrawn in place on the alternate screen; one taller than the
// terminal is cut to fit (the rest counted), so the next redraw lands on its lines.
func TestScreenDrawsInPlaceAndFitsTheHeight(t *testing.T) {
	var out bytes.Buffer
	io := &IO{Out: &out, ErrOut: &bytes.Buffer{}, OutTTY: true, OutHeight: 5, Format: Text}
	sc := io.StartScreen()
	frame := sc.Frame(func() {
		for i := range 8 {
			fmt.Fprintf(io.Out, "line %d\n", i)
		}
	})
	if err := sc.Draw(frame); err != nil {
		t.Fatal(err)
	}
	drawn := out.String()
	if !strings.HasPrefix(drawn, altScreenOn) || !strings.Contains(drawn, cursorHome+"line 0"+clearLineEnd) {
		t.Fatalf("not drawn in place on the alternate screen: %q", drawn)
	}
	if strings.Contains(drawn, "line 4") || !strings.Contains(drawn, "… 4 more line(s)") || strings.Count(drawn, "\n") != 4 {
		t.Fatalf("an 8-line frame on a 5-line terminal: %q", drawn)
	}
	sc.Close()
	if !strings.Contains(out.String(), altScreenOff+cursorShow+"line 0\n") || !strings.HasSuffix(out.String(), "line 7\n") {
		t.Fatalf("the whole last frame is not left on the shell's screen: %q", out.String())
	}
}
