package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHistogramQuantiles: quantiles come out within a bucket's width (3 %) of the exact ones.
func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for us := 1; us <= 100_000; us++ { // 1 µs … 100 ms, uniform
		h.add(time.Duration(us) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.0001, 10 * time.Microsecond}} {
		got := h.quantile(tc.q)
		if diff := float64(got-tc.want) / float64(tc.want); diff < -0.03 || diff > 0.03 {
			t.Errorf("quantile %v = %v, want %v ± 3%%", tc.q, got, tc.want)
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("an empty histogram has no quantiles")
	}
	for i := range len(h.counts) - 1 { // the buckets are contiguous and ordered
		if lowerBound(i) >= lowerBound(i+1) || bucketOf(lowerBound(i)) != i || bucketOf(lowerBound(i+1)-1) != i {
			t.Fatalf("bucket %d: [%d, %d)", i, lowerBound(i), lowerBound(i+1))
		}
	}
}

// TestScenariosAgainstTheRealServer builds the service, starts it as scripts/load.sh does and
// runs every scenario briefly: each must get only right answers, so the commands
// BENCHMARKS.md gives keep working as the API evolves.
func TestScenariosAgainstTheRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	url := startService(t)
	for _, name := range []string{"me", "public", "login", "refresh"} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"-url", url, "-c", "2", "-d", "300ms", name}, &out, &errOut)
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
			}
			line := out.String()
			if !regexp.MustCompile(`^` + name + ` +conns=2 secs=\S+ requests=[1-9]\d* rps=\S+ p50_ms=\S+ p99_ms=\S+ bad=0\n$`).MatchString(line) {
				t.Fatalf("unexpected report %q", line)
			}
		})
	}
	t.Run("WrongAnswersAreBad", func(t *testing.T) {
		// /token answers every GraphQL body with an OAuth error: each answer counts as bad and
		// the run ends with badAnswers (exit status 3).
		var out bytes.Buffer
		tokenURL := strings.TrimSuffix(url, "/query") + "/token"
		err := run(context.Background(), []string{"-url", tokenURL, "-c", "1", "-d", "200ms", "public"}, &out, io.Discard)
		var bad badAnswers
		if !errors.As(err, &bad) || bad == 0 || strings.Contains(out.String(), " bad=0") || !strings.Contains(out.String(), "sample=HTTP_400") {
			t.Fatalf("wrong answers were not counted: %v %q", err, out.String())
		}
	})
	t.Run("SetupFailureIsAnError", func(t *testing.T) {
		err := run(context.Background(), []string{"-url", url, "-c", "1", "-d", "200ms",
			"-email", "nobody@example.com", "-password", "not the password 42", "login"}, io.Discard, io.Discard)
		var bad badAnswers
		if err == nil || errors.As(err, &bad) || !strings.Contains(err.Error(), "INVALID_CREDENTIALS") {
			t.Fatalf("an account that cannot sign in was not reported as such: %v", err)
		}
	})
}

// startService builds the module's server into a temporary folder and starts it on a free
// port with a fresh data folder; it returns the GraphQL URL.
func startService(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "gqlauth")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "DATA_DIR="+t.TempDir(),
		"JWT_SECRET=load-test-secret-0123456789abcdefghijklmnop", "BCRYPT_COST=10",
		"RATE_LIMITS=off", "ACCESS_TOKEN_TTL=2h")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`msg=listening addr=\S*:(\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
			}
		}
	}()
	select {
	case p := <-port:
		return fmt.Sprintf("http://127.0.0.1:%s/query", p)
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not log its address within 30 s")
	}
	return ""
}
