package version

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestVersionFlags(t *testing.T) {
	var got *Options
	if err := cmdtest.Parse(NewCmdVersion(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil })); err != nil || got.IO == nil {
		t.Fatalf("version: %v %+v", err, got)
	}
	if err := cmdtest.Parse(NewCmdVersion(cmdtest.Factory(), nil), "extra"); err == nil {
		t.Fatal("version took an argument")
	}
}
