package contracts

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestCheckFlags(t *testing.T) {
	called := false
	cmd := NewCmdCheck(cmdtest.Factory(), func(_ context.Context, o *CheckOptions) error {
		called = o.IO != nil && o.Config != nil && o.Chain != nil
		return nil
	})
	if err := cmdtest.Parse(cmd); err != nil || !called {
		t.Fatalf("contracts check: %v, options complete %v", err, called)
	}
	if err := cmdtest.Parse(NewCmdCheck(cmdtest.Factory(), nil), "extra"); err == nil {
		t.Fatal("contracts check took an argument")
	}
}
