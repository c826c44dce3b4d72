package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time: -ldflags "-X github.com/driftcar/driftcar/internal/buildinfo.Version=v1.2.3".
var Version = "dev"

// Info describes the running binary.
type Info struct {
	Version   string
	Revision  string
	GoVersion string
}

// Get returns the build info, filling the revision from the VCS stamp.
func Get() Info {
	info := Info{Version: Version, Revision: "unknown", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Revision = s.Value
			}
		}
	}
	return info
}

// String is the one-line form printed by `driftcar version`.
func (i Info) String() string {
	return "driftcar " + i.Version + " (revision " + i.Revision + ", " + i.GoVersion + ")"
}
