package cli

import (
	"bytes"
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
		{"go run: no commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			true, "gqlauth (devel) commit unknown go1.26.8"},
		{"no build information", nil, false, "gqlauth unknown commit unknown unknown"},
	} {
		if got := versionLine(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
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
