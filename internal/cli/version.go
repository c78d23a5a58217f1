package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// readBuildInfo is debug.ReadBuildInfo; a test gives its own.
var readBuildInfo = debug.ReadBuildInfo

// version prints one line: the module version, the commit it was built from (with "+dirty"
// when the work tree had changes) and the Go version, from the build information the Go
// toolchain records in the binary (no -ldflags needed).
//
// `go run` and `go test` record no commit, so when the build information has none and the
// source this binary was compiled from is still on disk in a git checkout (`go run .` in a
// clone), the commit is read from that checkout. What neither says prints as "unknown".
func version(ctx context.Context, stdout io.Writer) error {
	bi, ok := readBuildInfo()
	_, err := fmt.Fprintln(stdout, versionLine(bi, ok, func() string { return sourceCommit(ctx) }))
	return err
}

// versionLine formats the version; fallback is asked for the commit only when the build
// information records none.
func versionLine(bi *debug.BuildInfo, ok bool, fallback func() string) string {
	ver, commit, goVersion := "unknown", "", "unknown"
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
		if dirty && commit != "" {
			commit += "+dirty"
		}
	}
	if commit == "" && fallback != nil {
		commit = fallback()
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("gqlauth %s commit %s %s", ver, commit, goVersion)
}

// sourceCommit is the commit of the git checkout holding this file's source, with "+dirty"
// when tracked files changed, or "" when the source is not there (a binary copied elsewhere,
// a -trimpath build), is not a checkout, or git is not installed. It asks git rather than
// reading .git itself: worktrees, packed refs and submodules all have their own layouts.
func sourceCommit(ctx context.Context) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		// The arguments are fixed here; dir is the compiled-in source path, not input.
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output() //nolint:gosec // fixed arguments
		return strings.TrimSpace(string(out)), err == nil
	}
	rev, ok := git("rev-parse", "HEAD")
	if !ok || len(rev) < 40 {
		return ""
	}
	if changes, ok := git("status", "--porcelain", "--untracked-files=no"); ok && changes != "" {
		rev += "+dirty"
	}
	return rev
}
