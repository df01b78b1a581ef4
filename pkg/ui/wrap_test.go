package ui

import (
	"slices"
	"testing"
)

func TestWrapBreaksAtSpacesOnly(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  []string
	}{
		{"funding limit (1 ETH on base-mainnet, none on local)", 30, []string{"funding limit (1 ETH on", "base-mainnet, none on local)"}},
		{"short", 30, []string{"short"}},
		{"keeps its own\nline breaks", 0, []string{"keeps its own", "line breaks"}},
		{"a 0x90F79bf6EB2c4f870365E785982E1f101E93b906 b", 16, []string{"a", "0x90F79bf6EB2c4f", "870365E785982E1f", "101E93b906 b"}},
		{"two  spaces  become one when wrapped", 12, []string{"two spaces", "become one", "when wrapped"}},
	} {
		if got := Wrap(c.s, c.width); !slices.Equal(got, c.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
		for _, l := range Wrap(c.s, c.width) {
			if c.width > 0 && Width(l) > c.width {
				t.Errorf("Wrap(%q, %d): line %q is %d cells", c.s, c.width, l, Width(l))
			}
		}
	}
}
