package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fastAPIDocsKey is the example key of FastAPI's documentation, copied into many services.
const fastAPIDocsKey = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"

// goodProductionKey is a fresh random key of 48 bytes, as `openssl rand -base64 48` makes.
func goodProductionKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// expectConfigExit checks that err makes the process exit with code 2 and print one line
// naming variable.
func expectConfigExit(t testing.TB, err error, variable string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("want a configuration error naming %s, got none", variable)
	}
	var out bytes.Buffer
	if code := exitCode(err, &out); code != 2 {
		t.Errorf("exit code %d, want 2 (err: %v)", code, err)
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("want exactly one line, got %q", line)
	}
	if !strings.Contains(line, variable) {
		t.Errorf("the line does not name %s: %q", variable, line)
	}
	return line
}

// runRefused runs the program with env (over testEnv's defaults) and returns the error it stops
// with; starting instead of refusing fails the test.
func runRefused(t *testing.T, overrides map[string]string) (error, string) {
	t.Helper()
	env := testEnv(t, overrides)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	err := run(ctx, []string{"gqlauth"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	if err == nil {
		t.Fatalf("run started (and ran until the timeout) instead of refusing; stderr:\n%s", stderr.String())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run did not refuse promptly: %v", err)
	}
	if stdout.String() != "" {
		t.Errorf("stdout should be empty, got %q", stdout.String())
	}
	return err, stderr.String()
}

// TestConfigRefusals: every bad value stops the start with exit code 2 and one line naming
// the variable.
func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("this is not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ecKey, err := generatePrivateKeyPEM("ES256")
	if err != nil {
		t.Fatal(err)
	}
	ecFile := filepath.Join(dir, "es256.pem")
	if err := os.WriteFile(ecFile, ecKey, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		env      map[string]string
		variable string
	}{
		{"unknown JWT_ALG", map[string]string{"JWT_ALG": "HS512"}, "JWT_ALG"},
		{"JWT_ALG none", map[string]string{"JWT_ALG": "none"}, "JWT_ALG"},
		{"ACCESS_TOKEN_TTL words", map[string]string{"ACCESS_TOKEN_TTL": "fifteen minutes"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL without unit", map[string]string{"ACCESS_TOKEN_TTL": "900"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL zero", map[string]string{"ACCESS_TOKEN_TTL": "0s"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL negative", map[string]string{"ACCESS_TOKEN_TTL": "-5m"}, "ACCESS_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL words", map[string]string{"REFRESH_TOKEN_TTL": "30 days"}, "REFRESH_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL zero", map[string]string{"REFRESH_TOKEN_TTL": "0"}, "REFRESH_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL negative", map[string]string{"REFRESH_TOKEN_TTL": "-1h"}, "REFRESH_TOKEN_TTL"},
		{"BCRYPT_COST 9", map[string]string{"BCRYPT_COST": "9"}, "BCRYPT_COST"},
		{"BCRYPT_COST 15", map[string]string{"BCRYPT_COST": "15"}, "BCRYPT_COST"},
		{"BCRYPT_COST abc", map[string]string{"BCRYPT_COST": "abc"}, "BCRYPT_COST"},
		{"BCRYPT_COST fraction", map[string]string{"BCRYPT_COST": "12.5"}, "BCRYPT_COST"},
		{"ADMIN_MFA maybe", map[string]string{"ADMIN_MFA": "maybe"}, "ADMIN_MFA"},
		{"JWT_PRIVATE_KEY_FILE missing", map[string]string{"JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "nope.pem")}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE a directory", map[string]string{"JWT_ALG": "ES256", "JWT_PRIVATE_KEY_FILE": dir}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE not PEM", map[string]string{"JWT_ALG": "RS256", "JWT_PRIVATE_KEY_FILE": garbage}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE of another algorithm", map[string]string{"JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": ecFile}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_SECRET short", map[string]string{"JWT_SECRET": "tooshort"}, "JWT_SECRET"},
		{"JWT_SECRET 31 bytes", map[string]string{"JWT_SECRET": strings.Repeat("k", 31)}, "JWT_SECRET"},
		{"PORT letters", map[string]string{"PORT": "http"}, "PORT"},
		{"PORT too large", map[string]string{"PORT": "70000"}, "PORT"},
		{"PORT negative", map[string]string{"PORT": "-1"}, "PORT"},
		{"APP_ENV staging", map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{"APP_ENV test", map[string]string{"APP_ENV": "test"}, "APP_ENV"},
		{"HOST with a port", map[string]string{"HOST": "127.0.0.1:8080"}, "HOST"},
		{"HOST not a name", map[string]string{"HOST": "not a host!"}, "HOST"},
		{"HOST a bad address", map[string]string{"HOST": "999.1.1.1"}, "HOST"},
		{"METRICS_ADDR without a port", map[string]string{"METRICS_ADDR": "127.0.0.1"}, "METRICS_ADDR"},
		{"METRICS_ADDR a bare port", map[string]string{"METRICS_ADDR": "9090"}, "METRICS_ADDR"},
		{"METRICS_ADDR port too large", map[string]string{"METRICS_ADDR": "localhost:99999"}, "METRICS_ADDR"},
		{"METRICS_ADDR bad host", map[string]string{"METRICS_ADDR": "not a host!:9090"}, "METRICS_ADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, loadErr := loadConfig(func(k string) string { return tc.env[k] })
			err, stderr := runRefused(t, tc.env)
			expectConfigExit(t, err, tc.variable)
			if stderr != "" {
				t.Errorf("nothing should be logged before the refusal, got %q", stderr)
			}
			// Values checkable without touching the disk are refused by loadConfig itself.
			if !strings.HasPrefix(tc.variable, "JWT_PRIVATE_KEY_FILE") && loadErr == nil {
				t.Errorf("loadConfig accepted %v", tc.env)
			}
		})
	}

	t.Run("PORT in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		err, _ = runRefused(t, map[string]string{"PORT": port})
		expectConfigExit(t, err, "PORT")
	})

	t.Run("METRICS_ADDR in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err, _ = runRefused(t, map[string]string{"METRICS_ADDR": ln.Addr().String()})
		expectConfigExit(t, err, "METRICS_ADDR")
	})

	t.Run("HOST not of this machine", func(t *testing.T) {
		err, _ := runRefused(t, map[string]string{"HOST": "192.0.2.1"}) // TEST-NET-1
		expectConfigExit(t, err, "HOST")
	})

	t.Run("several bad values still print one line", func(t *testing.T) {
		err, _ := runRefused(t, map[string]string{"BCRYPT_COST": "99", "ACCESS_TOKEN_TTL": "soon", "JWT_ALG": "XX"})
		line := expectConfigExit(t, err, "")
		if !strings.Contains(line, "JWT_ALG") && !strings.Contains(line, "ACCESS_TOKEN_TTL") && !strings.Contains(line, "BCRYPT_COST") {
			t.Errorf("the line names none of the bad variables: %q", line)
		}
	})
}

// productionRefusals are the JWT_SECRET values production must refuse ("" = unset).
func productionRefusals() []struct{ name, secret string } {
	return []struct{ name, secret string }{
		{"no JWT_SECRET", ""},
		{"short key", "0123456789abcdef"},
		{"31 bytes", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d"},
		{"one repeated character", strings.Repeat("a", 40)},
		{"one repeated multi-byte character", strings.Repeat("é", 32)},
		{"your-secret-key", "your-secret-key"},
		{"secret", "secret"},
		{"changeme", "changeme"},
		{"FastAPI docs key", fastAPIDocsKey},
		{"FastAPI docs key upper case", strings.ToUpper(fastAPIDocsKey)},
		{"placeholder padded to length", "changeme-changeme-changeme-changeme-changeme"},
		{"your-secret-key padded to length", "your-secret-key-your-secret-key-1234"},
		// Low entropy: long enough, no placeholder, still guessable.
		{"a word repeated (36 bytes)", strings.Repeat("secret", 6)},
		{"two characters alternating", strings.Repeat("ab", 20)},
		{"a run of digits repeated", strings.Repeat("1234567890", 4)},
		{"a common password repeated", strings.Repeat("password", 5)},
	}
}

// TestProductionKeyRefusals: APP_ENV=production refuses a missing, short, repeated or
// well-known key with exit code 2 naming JWT_SECRET, without echoing the key.
func TestProductionKeyRefusals(t *testing.T) {
	for _, tc := range productionRefusals() {
		t.Run(tc.name, func(t *testing.T) {
			err, _ := runRefused(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret})
			line := expectConfigExit(t, err, "JWT_SECRET")
			if len(tc.secret) >= 16 && strings.Contains(line, tc.secret) {
				t.Errorf("the refusal echoes the key: %q", line)
			}
		})
	}
	// The short form of APP_ENV is as strict.
	err, _ := runRefused(t, map[string]string{"APP_ENV": "prod", "JWT_SECRET": "changeme"})
	expectConfigExit(t, err, "JWT_SECRET")
}

// TestConfigAccepted: good values, boundaries included, load; the defaults are the documented ones.
func TestConfigAccepted(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Port != "8080" || c.Production || !c.Playground || c.DataDir != "./data" || c.DatabaseURL != "" ||
		c.JWTAlg != "HS256" || c.Issuer != "http://localhost:8080" || c.Audience != "graphql-api" ||
		c.AccessTTL != 15*time.Minute || c.RefreshTTL != 720*time.Hour || c.BcryptCost != 12 || !c.RateLimits ||
		len(c.CORSOrigins) != 0 || c.ShutdownTimeout < 15*time.Second {
		t.Errorf("defaults differ from docs/configuration.md: %+v", c)
	}

	key := goodProductionKey(t)
	tests := []struct {
		name  string
		env   map[string]string
		check func(config) bool
	}{
		{"ACCESS_TOKEN_TTL 2s", map[string]string{"ACCESS_TOKEN_TTL": "2s"}, func(c config) bool { return c.AccessTTL == 2*time.Second }},
		{"REFRESH_TOKEN_TTL 2s", map[string]string{"REFRESH_TOKEN_TTL": "2s"}, func(c config) bool { return c.RefreshTTL == 2*time.Second }},
		{"ACCESS_TOKEN_TTL 1h30m", map[string]string{"ACCESS_TOKEN_TTL": "1h30m"}, func(c config) bool { return c.AccessTTL == 90*time.Minute }},
		{"BCRYPT_COST 10", map[string]string{"BCRYPT_COST": "10"}, func(c config) bool { return c.BcryptCost == 10 }},
		{"BCRYPT_COST 14", map[string]string{"BCRYPT_COST": "14"}, func(c config) bool { return c.BcryptCost == 14 }},
		{"ADMIN_MFA required", map[string]string{"ADMIN_MFA": "required"}, func(c config) bool { return c.AdminMFA }},
		{"ADMIN_MFA default", map[string]string{}, func(c config) bool { return !c.AdminMFA }},
		{"JWT_ALG EdDSA", map[string]string{"JWT_ALG": "EdDSA"}, func(c config) bool { return c.JWTAlg == "EdDSA" }},
		{"JWT_ALG ES256", map[string]string{"JWT_ALG": "ES256"}, func(c config) bool { return c.JWTAlg == "ES256" }},
		{"JWT_ALG RS256", map[string]string{"JWT_ALG": "RS256"}, func(c config) bool { return c.JWTAlg == "RS256" }},
		{"JWT_SECRET kept as given", map[string]string{"JWT_SECRET": " " + key + " "}, func(c config) bool { return string(c.JWTSecret) == " "+key+" " }},
		{"issuer follows PORT", map[string]string{"PORT": "9999"}, func(c config) bool { return c.Issuer == "http://localhost:9999" }},
		{"HOST default: every interface", nil, func(c config) bool { return c.Host == "" && c.MetricsAddr == "" }},
		{"HOST loopback", map[string]string{"HOST": "127.0.0.1"}, func(c config) bool { return c.Host == "127.0.0.1" }},
		{"HOST IPv6 in brackets", map[string]string{"HOST": "[::1]"}, func(c config) bool { return c.Host == "::1" }},
		{"HOST a name", map[string]string{"HOST": "localhost"}, func(c config) bool { return c.Host == "localhost" }},
		{"METRICS_ADDR every interface", map[string]string{"METRICS_ADDR": ":9090"}, func(c config) bool { return c.MetricsAddr == ":9090" }},
		{"METRICS_ADDR IPv6", map[string]string{"METRICS_ADDR": "[::1]:9090"}, func(c config) bool { return c.MetricsAddr == "[::1]:9090" }},
		{"placeholder allowed in development", map[string]string{"JWT_SECRET": fastAPIDocsKey}, func(c config) bool { return !c.Production }},
		{"production with a random key", map[string]string{"APP_ENV": "production", "JWT_SECRET": key},
			func(c config) bool { return c.Production && !c.Playground && string(c.JWTSecret) == key }},
		{"production with PLAYGROUND=true", map[string]string{"APP_ENV": "production", "JWT_SECRET": key, "PLAYGROUND": "true"},
			func(c config) bool { return c.Production && c.Playground }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

// TestStartWithShortTTLAndProductionKey: ACCESS_TOKEN_TTL=2s is served as such, and a good
// random key starts a production server.
func TestStartWithShortTTLAndProductionKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": goodProductionKey(t), "ACCESS_TOKEN_TTL": "2s"})
	reg := s.register(t, "short-ttl@example.com")
	if reg.ExpiresIn != 2 {
		t.Fatalf("expiresIn = %d, want 2", reg.ExpiresIn)
	}
	expectOK(t, s.me(t, reg.AccessToken))
	if strings.Contains(s.stderr.String(), "development key") {
		t.Errorf("a production server must not use a development key:\n%s", s.stderr.String())
	}
}

// TestBinaryConfigRefusals runs the real binary: a refused configuration exits with code 2 and
// writes exactly one line to stderr, nothing to stdout; a good production key starts and stops
// with 0 on SIGTERM.
func TestBinaryConfigRefusals(t *testing.T) {
	t.Parallel()
	bin := binBuild(t)
	cases := productionRefusals()
	for _, tc := range cases {
		t.Run("production/"+tc.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret})
			res := binRun(t, bin, env, "", nil)
			binExpectConfigExit(t, res, "JWT_SECRET")
		})
	}
	for _, tc := range []struct{ name, key, value string }{
		{"BCRYPT_COST", "BCRYPT_COST", "15"},
		{"JWT_ALG", "JWT_ALG", "none"},
		{"ACCESS_TOKEN_TTL", "ACCESS_TOKEN_TTL", "forever"},
		{"JWT_PRIVATE_KEY_FILE", "JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"},
	} {
		t.Run("development/"+tc.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv(t, map[string]string{tc.key: tc.value})
			if tc.key == "JWT_PRIVATE_KEY_FILE" {
				env["JWT_ALG"] = "EdDSA"
			}
			res := binRun(t, bin, env, "", nil)
			binExpectConfigExit(t, res, tc.name)
		})
	}
	t.Run("production/good key starts", func(t *testing.T) {
		t.Parallel()
		p := binStart(t, bin, testEnv(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": goodProductionKey(t)}))
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.stderr.String())
		}
	})
}

func binExpectConfigExit(t *testing.T, res binResult, variable string) {
	t.Helper()
	if res.code != 2 {
		t.Errorf("exit code %d, want 2; stderr %q", res.code, res.stderr)
	}
	if strings.Count(res.stderr, "\n") != 1 || !strings.HasSuffix(res.stderr, "\n") {
		t.Errorf("stderr should be exactly one line, got %q", res.stderr)
	}
	if !strings.Contains(res.stderr, variable) {
		t.Errorf("stderr does not name %s: %q", variable, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout should be empty, got %q", res.stdout)
	}
}

// ---- the real binary, for exit codes, signals and kill -9 ----

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

const binDirPrefix = "gqlauth-e2e-bin-"

// binBuild builds the program once per test process (go build, not -race) and returns its path.
func binBuild(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binRemoveStale()
		dir, err := os.MkdirTemp("", binDirPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			binErr = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		path := filepath.Join(dir, "gqlauth")
		cmd := exec.Command(goTool, "build", "-o", path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = path
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// binRemoveStale removes the binaries of earlier test processes (there is no TestMain to do it
// at the end): a folder is named after the process that built it and goes once that process
// has ended.
func binRemoveStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, d := range dirs {
		pidText, _, named := strings.Cut(strings.TrimPrefix(filepath.Base(d), binDirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !named || err != nil || pid <= 0 { // an older naming: by age
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 2*time.Hour {
				_ = os.RemoveAll(d)
			}
			continue
		}
		if p, err := os.FindProcess(pid); err == nil {
			if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
				continue // still running (or not ours to judge)
			}
		}
		_ = os.RemoveAll(d)
	}
}

// binEnviron turns env into a process environment (empty values are left out, i.e. unset).
func binEnviron(env map[string]string) []string {
	var out []string
	for k, v := range env {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		out = append(out, "TMPDIR="+tmp)
	}
	sort.Strings(out)
	return out
}

type binResult struct {
	stdout, stderr string
	code           int
}

// binRun runs the binary to completion with args and stdin. It may be called from several
// goroutines: a failure to run is reported with t.Errorf and an exit code of -2.
func binRun(t testing.TB, bin string, env map[string]string, stdin string, args []string) binResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = binEnviron(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Errorf("run %s %v: %v", bin, args, err)
		return binResult{code: -2}
	}
	if ctx.Err() != nil {
		t.Errorf("%s %v did not finish in time; stderr:\n%s", bin, args, stderr.String())
		return binResult{code: -2}
	}
	return binResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// binProc is the binary serving in a subprocess. Its testServer has no cancel func: stop it
// with a signal.
type binProc struct {
	*testServer
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// binStart starts the binary as a server with env and waits until /healthz answers.
func binStart(t testing.TB, bin string, env map[string]string) *binProc {
	t.Helper()
	p := &binProc{
		testServer: &testServer{URL: "http://127.0.0.1:" + env["PORT"], DataDir: env["DATA_DIR"], env: env},
		cmd:        exec.Command(bin),
		stderr:     &syncBuffer{},
		exited:     make(chan struct{}),
	}
	p.testServer.stderr = p.stderr
	p.cmd.Env = binEnviron(env)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("binary exited during start (code %d):\n%s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary did not become healthy:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (p *binProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %s:\n%s", timeout, p.stderr.String())
		return 0
	}
}
