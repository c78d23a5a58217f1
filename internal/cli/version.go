package cli

import (
	"fmt"
	"io"
	"runtime/debug"
)

// readBuildInfo is debug.ReadBuildInfo; a test gives its own.
var readBuildInfo = debug.ReadBuildInfo

// version prints one line: the module version, the commit it was built from (with "+dirty"
// when the work tree had changes) and the Go version, all from the build information the Go
// toolchain records in the binary (no -ldflags needed). What a build did not record prints as
// "unknown" (`go run` records no commit).
func version(stdout io.Writer) error {
	_, err := fmt.Fprintln(stdout, versionLine(readBuildInfo()))
	return err
}

func versionLine(bi *debug.BuildInfo, ok bool) string {
	ver, commit, goVersion := "unknown", "unknown", "unknown"
	if ok && bi != nil {
		goVersion = bi.GoVersion
		if v := bi.Main.Version; v != "" {
			ver = v
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && commit != "unknown" {
			commit += "+dirty"
		}
	}
	return fmt.Sprintf("gqlauth %s commit %s %s", ver, commit, goVersion)
}
