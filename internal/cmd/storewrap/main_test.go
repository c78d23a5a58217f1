package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const directive = "//go:generate go run github.com/example/gqlauth/internal/cmd/storewrap "

// The generated wrappers are what their //go:generate lines make of today's auth.Store: a
// changed Store, a changed -skip list or a hand edit without regenerating fails here (a
// missing method fails to compile already).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	found := 0
	for _, pkg := range []string{"auth", "metrics"} {
		dir := filepath.Join(root, pkg)
		for _, args := range directives(t, dir) {
			found++
			o, err := parseOptions(args, io.Discard)
			if err != nil {
				t.Fatalf("%s: %v", pkg, err)
			}
			want, err := generate(dir, o)
			if err != nil {
				t.Fatalf("%s: %v", pkg, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, o.out))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s is not what storewrap writes today: run go generate ./%s/", pkg, o.out, pkg)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d storewrap directives in auth and metrics, want 2", found)
	}
}

func directives(t *testing.T, dir string) [][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), directive); ok {
				out = append(out, strings.Fields(rest))
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A -skip that names no method (a typo, a method renamed) and a method that could not be
// bounded are errors, not a silently different wrapper.
func TestRefusals(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "auth")
	for args, want := range map[string]string{
		"-kind bounded -o x.go -skip Close,PurgeNothing": "-skip PurgeNothing: Store has no such method",
		"-kind bounded -o x.go":                          "Close takes no context.Context first",
		"-kind timed -o x.go -iface Nothing":             "no interface Nothing",
	} {
		o, err := parseOptions(strings.Fields(args), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := generate(dir, o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", args, err, want)
		}
	}
}
