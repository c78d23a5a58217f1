package cli

import (
	"bytes"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"released", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{rev, {Key: "vcs.modified", Value: "false"}}},
			true, "gqlauth v1.2.3 commit 0123456789abcdef0123456789abcdef01234567 go1.26.8"},
		{"modified work tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{rev, {Key: "vcs.modified", Value: "true"}}},
			true, "gqlauth (devel) commit 0123456789abcdef0123456789abcdef01234567+dirty go1.26.8"},
		{"go run: no commit, none in the source tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			true, "gqlauth (devel) commit unknown go1.26.8"},
		{"go run: the source tree's commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			true, "gqlauth (devel) commit fedcba9876543210fedcba9876543210fedcba98 go1.26.8"},
		{"no build information", nil, false, "gqlauth unknown commit unknown unknown"},
	} {
		fallback := func() string { return "" }
		if strings.Contains(tc.name, "source tree's") {
			fallback = func() string { return "fedcba9876543210fedcba9876543210fedcba98" }
		}
		if got := versionLine(tc.bi, tc.ok, fallback); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionFromTheSourceTree: a test binary, like `go run`, records no commit; the command
// then reports the commit of the checkout its source is in, the one git itself names.
func TestVersionFromTheSourceTree(t *testing.T) {
	want, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout, or no git: %v", err)
	}
	got := sourceCommit(t.Context())
	if strings.TrimSuffix(got, "+dirty") != strings.TrimSpace(string(want)) {
		t.Fatalf("source commit %q, git says %q", got, want)
	}
	var out bytes.Buffer
	if err := Run(t.Context(), []string{"version"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " commit "+got+" ") {
		t.Errorf("version printed %q, want commit %s", out.String(), got)
	}
}

// TestVersionCommand: `gqlauth version` prints one line from this test binary's own build
// information and succeeds, touching no database.
func TestVersionCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(t.Context(), []string{"version"}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "gqlauth ") || !strings.Contains(line, " commit ") ||
		!strings.HasSuffix(line, " "+runtime.Version()+"\n") || errOut.Len() != 0 {
		t.Errorf("version printed %q (stderr %q)", line, errOut.String())
	}
}
