// Package buildinfo holds the version, commit and build date that the release build
// injects with -ldflags "-X github.com/vrwx/vrwxctl/pkg/buildinfo.Version=…".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info is what `vrwxctl version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's info; a plain `go build` falls back to the VCS stamp Go
// records in the binary.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if i.Commit == "" || i.Date == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch {
				case s.Key == "vcs.revision" && i.Commit == "":
					i.Commit = s.Value
				case s.Key == "vcs.time" && i.Date == "":
					i.Date = s.Value
				case s.Key == "vcs.modified" && s.Value == "true" && i.Commit != "" && Commit == "":
					i.Commit += "-dirty"
				}
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	if i.Date == "" {
		i.Date = "unknown"
	}
	return i
}
