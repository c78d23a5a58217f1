package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityPolicyNamesRealTests: every test SECURITY.md cites as the guarantee of a property
// exists: a Go test, fuzz target or example of that name in some _test.go file, or a client test
// file. A test renamed or moved out of existence makes this fail, not the policy silently lie.
func TestSecurityPolicyNamesRealTests(t *testing.T) {
	root := moduleRoot(t)
	policy, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	goNames := regexp.MustCompile("`((?:Test|Fuzz|Example)[A-Za-z0-9_]*)`").FindAllSubmatch(policy, -1)
	jsFiles := regexp.MustCompile("`(clients/test/[A-Za-z0-9_.-]+\\.js)`").FindAllSubmatch(policy, -1)
	if len(goNames) < 20 {
		t.Fatalf("SECURITY.md names %d tests; the table of guarantees is gone?", len(goNames))
	}

	defined := map[string]bool{}
	funcName := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Example)[A-Za-z0-9_]*)\(`)
	for _, f := range repositoryFiles(t, root) {
		if !strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // listed by git but gone from the working tree
		}
		for _, m := range funcName.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
	}
	for _, m := range goNames {
		if !defined[string(m[1])] {
			t.Errorf("SECURITY.md cites %s, which no _test.go file defines", m[1])
		}
	}
	for _, m := range jsFiles {
		if _, err := os.Stat(filepath.Join(root, string(m[1]))); err != nil {
			t.Errorf("SECURITY.md cites %s: %v", m[1], err)
		}
	}
}
