// Package docs_test keeps the repository's documentation honest: it stands alone (no file points
// outside the repository), and every environment variable the code reads is documented in
// configuration.md. `go test ./...` runs these checks, so CI does too.
package docs_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// moduleRoot walks up from the test's directory to the folder with go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// repositoryFiles lists the tracked files (git ls-files), or, outside a git checkout (a
// source archive), every file but .git's.
func repositoryFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNoReferenceOutsideTheRepository: someone who clones the repository has only the
// repository, so no file may send them to a folder beside it or to documents it does not
// contain. The needles are split so that this file does not match itself.
func TestNoReferenceOutsideTheRepository(t *testing.T) {
	root := moduleRoot(t)
	needles := []string{"../" + "shared", "CONTRACT" + ".md", "DESIGN" + ".md"}
	// Third-party licence texts are quoted as their authors wrote them.
	skip := func(path string) bool {
		return path == "web/THIRD_PARTY_LICENSES.txt" || slices.Contains(strings.Split(path, "/"), "node_modules")
	}
	files := repositoryFiles(t, root)
	if len(files) < 10 {
		t.Fatalf("found only %d files under %s", len(files), root)
	}
	for _, path := range files {
		if path == "" || skip(path) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range needles {
			if i := bytes.Index(data, []byte(needle)); i >= 0 {
				line := bytes.Count(data[:i], []byte("\n")) + 1
				t.Errorf("%s:%d mentions %q, which is outside the repository: say what it says instead", path, line, needle)
			}
		}
	}
}

// todaysVariables are the variables the code read when the detection was written. If one goes
// away on purpose, drop it here; if the detection stops finding one that is still read, the
// detection needs extending (TestEnvironmentVariablesAreDocumented relies on it).
var todaysVariables = []string{
	"PORT", "APP_ENV", "PLAYGROUND", "DATA_DIR", "DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX",
	"JWT_ALG", "JWT_SECRET", "JWT_PRIVATE_KEY_FILE", "JWT_PREVIOUS_KEY_FILES", "JWT_ISSUER",
	"JWT_AUDIENCE", "ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "REFRESH_REUSE_GRACE",
	"SHUTDOWN_TIMEOUT", "AUDIT_RETENTION", "BCRYPT_COST", "BCRYPT_CONCURRENCY",
	"PASSWORD_MIN_LENGTH", "RATE_LIMITS", "LOGIN_FAILURES_PER_IP", "REGISTRATIONS_PER_IP",
	"TRUSTED_PROXIES", "CORS_ALLOWED_ORIGINS", "REFRESH_COOKIE", "OAUTH_PASSWORD_GRANT",
	"GOGC", "GOMEMLIMIT", "REQUIRE_INTEGRATION", "TEST_DATABASE_URL", "TEST_REDIS_URL",
}

// TestEnvDetectionFindsTodaysVariables: the detection below finds every variable the code read
// when it was written, so a refactoring that hides reads from it shows up here.
func TestEnvDetectionFindsTodaysVariables(t *testing.T) {
	found, err := envReads(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range todaysVariables {
		if _, ok := found[name]; !ok {
			t.Errorf("the detection no longer finds %s", name)
		}
	}
}

// TestEnvironmentVariablesAreDocumented: every variable the Go code reads appears, in
// backquotes, in docs/configuration.md.
func TestEnvironmentVariablesAreDocumented(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	found, err := envReads(root)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !bytes.Contains(doc, []byte("`"+name+"`")) {
			t.Errorf("%s is read (%s) but docs/configuration.md does not describe it", name, strings.Join(found[name], ", "))
		}
	}
}

// TestEnvDetectionPatterns runs the detection on a small module written for it: each way of
// reading a variable is found, and reads it must not count are not.
func TestEnvDetectionPatterns(t *testing.T) {
	dir := t.TempDir()
	write := func(path, src string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n")
	write("main.go", `package main

import "os"

const portVar = "DIRECT_CONST"

func main() {
	_ = os.Getenv("DIRECT")
	_, _ = os.LookupEnv("LOOKUP")
	_ = os.Getenv(portVar)
	run(os.Getenv)
}

func run(getenv func(string) string) {
	_ = getenv("PARAM_NAMED_GETENV")
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	duration := func(name string) string { return env(name, "1s") }
	_ = env("CLOSURE", "x")
	_ = duration("CLOSURE_OF_CLOSURE")
	_ = env(lowerCase, "x")
}

const lowerCase = "not a variable name"
`)
	write("internal/cfg/cfg.go", `package cfg

type Options struct {
	Lookup func(string) (string, bool)
	Port   int `+"`env:\"TAGGED,required\"`"+`
}

func Load(read func(string) string, o Options) string {
	_, _ = o.Lookup("FIELD_LOOKUP")
	return setting(read, "WRAPPED_FUNC") + read("PARAM_ANY_NAME")
}

func setting(read func(string) string, name string) string { return read(name) }

func (o Options) Value(name string) string { v, _ := o.Lookup(name); return v }

func use(o Options) string { return o.Value("METHOD_WRAPPER") }
`)
	write("main_test.go", "package main\n\nimport \"os\"\n\nvar _ = os.Getenv(\"ONLY_IN_A_TEST\")\n")
	write("testdata/x.go", "package x\n\nimport \"os\"\n\nvar _ = os.Getenv(\"IN_TESTDATA\")\n")
	write("tools/go.mod", "module example.com/tools\n")
	write("tools/t.go", "package t\n\nimport \"os\"\n\nvar _ = os.Getenv(\"IN_ANOTHER_MODULE\")\n")
	write("node_modules/x/x.go", "package x\n\nimport \"os\"\n\nvar _ = os.Getenv(\"IN_NODE_MODULES\")\n")

	found, err := envReads(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name := range found {
		got = append(got, name)
	}
	sort.Strings(got)
	want := []string{"CLOSURE", "CLOSURE_OF_CLOSURE", "DIRECT", "DIRECT_CONST", "FIELD_LOOKUP",
		"LOOKUP", "METHOD_WRAPPER", "PARAM_ANY_NAME", "PARAM_NAMED_GETENV", "TAGGED", "WRAPPED_FUNC"}
	if !slices.Equal(got, want) {
		t.Errorf("found %v\nwant  %v", got, want)
	}
}
