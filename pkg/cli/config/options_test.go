package config

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestConfigFlags(t *testing.T) {
	var view *ViewOptions
	if err := cmdtest.Parse(NewCmdView(cmdtest.Factory(), func(_ context.Context, o *ViewOptions) error { view = o; return nil }), "--reveal"); err != nil || !view.Reveal || view.Config == nil {
		t.Fatalf("view: %v %+v", err, view)
	}
	var profiles *ProfilesOptions
	if err := cmdtest.Parse(NewCmdProfiles(cmdtest.Factory(), func(_ context.Context, o *ProfilesOptions) error { profiles = o; return nil })); err != nil || profiles.Profiles == nil {
		t.Fatalf("profiles: %v %+v", err, profiles)
	}
}
