package cmdutil

import "github.com/vrwx/vrwxctl/pkg/config"

// StateDir is vrwxctl's state directory ($XDG_STATE_HOME/vrwxctl): the audit log,
// the send locks and the rotation journals. Domain packages take it from here
// rather than reading the environment themselves.
func (f *Factory) StateDir() string { return config.StateDir(f.LookupEnv) }
