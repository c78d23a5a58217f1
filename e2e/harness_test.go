// Package e2e is the end-to-end suite: the real program (internal/app, as main runs it, or
// the built binary), on its own port and data folder, driven through HTTP, WebSocket and its
// command line. What a unit test of one package can show belongs beside that package; this
// suite keeps what only the whole program can.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/app"
	"github.com/example/gqlauth/internal/itest"
)

// testServer is the real program serving on a port of its own, with its own data folder, as
// a user would start it: in this process through app.Run (startServer), or the built binary
// in a subprocess (startBinary).
type testServer struct {
	URL     string // http://host:port, the address it logged it listens on
	Addr    string // host:port of that listener, to dial
	DataDir string
	env     map[string]string
	stderr  *syncBuffer
	cancel  context.CancelFunc // nil for the binary: stop it with a signal
	done    chan int           // app.Run's exit code
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort is a port free a moment ago, for the few tests that must name a port before the
// start (METRICS_ADDR, a port in use); servers themselves listen on :0.
func freePort(t testing.TB) string { return itest.FreePort(t) }

// testIssuer is the issuer every test server signs with: tokens name it, not the port. It is
// not an address: a test that follows the metadata's URLs (derived from the issuer) or compares
// them with the server's starts with reachableIssuer.
const testIssuer = "http://gqlauth.test"

// testEnv is the environment every test server starts from; overrides win (an empty value
// unsets). PORT=0: the server picks a free port, and says which in its log.
func testEnv(t testing.TB, overrides map[string]string) map[string]string {
	env := map[string]string{
		"PORT":        "0",
		"DATA_DIR":    t.TempDir(),
		"BCRYPT_COST": "10",
		// Hashing at normal priority: go test runs other packages' test binaries beside this
		// one, and at the lowest priority (the default) they would starve the server's bcrypt
		// threads, turning the suite's timings into the machine's load.
		"BCRYPT_PRIORITY": "normal",
		"JWT_SECRET":      "test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
		"JWT_ISSUER":      testIssuer,
		"JWT_AUDIENCE":    "graphql-api",
		// No verification mail at register: its MAIL_SENT event arrives on its own time and
		// would interleave with the events tests wait for. The mail tests ask for "optional".
		"EMAIL_VERIFICATION": "off",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// reachableIssuer is overrides plus a port picked before the start and the issuer at that
// address, for a test that follows the URLs the metadata derives from the issuer.
func reachableIssuer(t testing.TB, overrides map[string]string) map[string]string {
	port := freePort(t)
	out := map[string]string{"PORT": port, "JWT_ISSUER": "http://127.0.0.1:" + port}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// startServer runs the program with testEnv(overrides) and waits until it is ready.
func startServer(t testing.TB, overrides map[string]string) *testServer {
	t.Helper()
	return startWithEnv(t, testEnv(t, overrides))
}

// startWithEnv runs the program in this process with exactly env, as main would (app.Run,
// no arguments), and waits until /healthz answers. The test's end stops it.
func startWithEnv(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{DataDir: env["DATA_DIR"], env: env, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- app.Run(ctx, []string{"gqlauth"}, getenv(env), strings.NewReader(""), io.Discard, s.stderr)
	}()
	exited := func() (bool, int) {
		select {
		case code := <-s.done:
			return true, code
		default:
			return false, 0
		}
	}
	if err := s.waitReady(15*time.Second, exited); err != nil {
		cancel()
		t.Fatalf("%v\n%s", err, s.stderr.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// listeningLine is the start's log line that names the address, in text or JSON.
var listeningLine = regexp.MustCompile(`(?:msg=listening addr=|"msg":"listening","addr":")([^\s"]+)`)

// waitReady waits for the log line that names the listener, then for /healthz to answer 200.
// exited reports whether the program has ended (and its exit code).
func (s *testServer) waitReady(within time.Duration, exited func() (bool, int)) error {
	deadline := time.Now().Add(within)
	for {
		if s.URL == "" {
			if m := listeningLine.FindStringSubmatch(s.stderr.String()); m != nil {
				s.setAddr(m[1])
			}
		}
		if s.URL != "" {
			if resp, err := http.Get(s.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		if done, code := exited(); done {
			return fmt.Errorf("the server exited during its start (code %d)", code)
		}
		if time.Now().After(deadline) {
			return errors.New("the server did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setAddr takes the listener's address from the log: every interface ([::] or 0.0.0.0) is
// reached through loopback.
func (s *testServer) setAddr(logged string) {
	host, port, err := net.SplitHostPort(logged)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	s.Addr = net.JoinHostPort(host, port)
	s.URL = "http://" + s.Addr
}

// Port is the port the server listens on.
func (s *testServer) Port() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return port
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (s *testServer) stop(t testing.TB) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("server exited with code %d\n%s", code, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server did not stop")
	}
}

// eventually polls cond every 10 ms until it holds, failing the test after within; it returns
// how long that took.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return eventuallyEvery(t, within, 10*time.Millisecond, what, cond)
}

// eventuallyEvery is eventually polling every `every` (a race test waits for a metric at 2 ms).
func eventuallyEvery(t testing.TB, within, every time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(every)
	}
	return time.Since(start)
}

// ---- one run of the program, as a shell sees it ----

// cmdResult is what a shell sees of one run of the program.
type cmdResult struct {
	stdout, stderr string
	code           int
}

// errorLine is the line a failing run ends with ("error: …\n"), or "" when it printed none.
func (r cmdResult) errorLine() string {
	lines := strings.SplitAfter(r.stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "error: ") {
			return lines[i]
		}
	}
	return ""
}

// runProgram runs the program in this process with args (a command; none: serve) under env and
// stdin, to completion (at most a minute), as a shell would run it.
func runProgram(t testing.TB, env map[string]string, stdin string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := app.Run(ctx, append([]string{"gqlauth"}, args...), getenv(env), strings.NewReader(stdin), &stdout, &stderr)
	if ctx.Err() != nil {
		t.Errorf("gqlauth %v did not finish in time; stderr:\n%s", args, stderr.String())
		return cmdResult{code: -2}
	}
	return cmdResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// runCLI runs a command of the program against env's database (stdin empty) and returns its
// exit code, stdout and stderr.
func runCLI(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	res := runProgram(t, env, "", args...)
	return res.code, res.stdout, res.stderr
}

// createUser runs `user create` against the server's database and returns the new id.
func (s *testServer) createUser(t testing.TB, email, role, password string) string {
	t.Helper()
	res := runProgram(t, s.env, password+"\n", "user", "create", "--email", email, "--role", role, "--password-stdin")
	if res.code != 0 {
		t.Fatalf("user create: exit %d\n%s", res.code, res.stderr)
	}
	return strings.TrimSpace(res.stdout)
}

// expectConfigExit checks that a run refused its configuration as a start must: exit code 2,
// nothing on stdout, and an error line naming variable. It returns that line.
func expectConfigExit(t testing.TB, res cmdResult, variable string) string {
	t.Helper()
	if res.code != 2 {
		t.Errorf("exit code %d, want 2; stderr %q", res.code, res.stderr)
	}
	line := res.errorLine()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("want exactly one error line, got %q", res.stderr)
	}
	if !strings.Contains(line, variable) {
		t.Errorf("the line does not name %s: %q", variable, line)
	}
	if res.stdout != "" {
		t.Errorf("stdout should be empty, got %q", res.stdout)
	}
	return line
}

// expectOnlyErrorLine checks that the run printed its error line and nothing else.
func expectOnlyErrorLine(t testing.TB, res cmdResult) {
	t.Helper()
	if res.stderr != res.errorLine() {
		t.Errorf("stderr should be exactly one line, got %q", res.stderr)
	}
}

// ---- the real binary, for exit codes, signals and kill -9 ----

var (
	buildOnce   sync.Once
	builtBinary string
	buildErr    error
)

const binaryDirPrefix = "gqlauth-e2e-bin-"

// buildBinary builds the program once per test process (go build, not -race) and returns its path.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		removeStaleBinaries()
		dir, err := os.MkdirTemp("", binaryDirPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			buildErr = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			// The toolchain that built this test binary, which runs where it was built.
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // SA1019: see above
		}
		path := filepath.Join(dir, "gqlauth")
		cmd := exec.Command(goTool, "build", "-o", path, "..") // the module root: main
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtBinary = path
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBinary
}

// removeStaleBinaries removes the binaries of earlier test processes (there is no TestMain to do it
// at the end): a folder is named after the process that built it and goes once that process
// has ended.
func removeStaleBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binaryDirPrefix+"*"))
	for _, d := range dirs {
		pidText, _, named := strings.Cut(strings.TrimPrefix(filepath.Base(d), binaryDirPrefix), "-")
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

// environ turns env into a process environment (empty values are left out, i.e. unset).
func environ(env map[string]string) []string {
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

// runBinary runs the binary to completion with args and stdin. It may be called from several
// goroutines: a failure to run is reported with t.Errorf and an exit code of -2.
func runBinary(t testing.TB, bin string, env map[string]string, stdin string, args []string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Errorf("run %s %v: %v", bin, args, err)
		return cmdResult{code: -2}
	}
	if ctx.Err() != nil {
		t.Errorf("%s %v did not finish in time; stderr:\n%s", bin, args, stderr.String())
		return cmdResult{code: -2}
	}
	return cmdResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// binaryServer is the binary serving in a subprocess. Its testServer has no cancel func: stop it
// with a signal.
type binaryServer struct {
	*testServer
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// startBinary starts the binary as a server with env and waits until it is ready (waitReady).
func startBinary(t testing.TB, bin string, env map[string]string) *binaryServer {
	t.Helper()
	p := &binaryServer{
		testServer: &testServer{DataDir: env["DATA_DIR"], env: env},
		cmd:        exec.Command(bin),
		stderr:     &syncBuffer{},
		exited:     make(chan struct{}),
	}
	p.testServer.stderr = p.stderr
	p.cmd.Env = environ(env)
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
	exited := func() (bool, int) {
		select {
		case <-p.exited:
			return true, p.cmd.ProcessState.ExitCode()
		default:
			return false, 0
		}
	}
	if err := p.waitReady(20*time.Second, exited); err != nil {
		t.Fatalf("binary: %v\n%s", err, p.stderr.String())
	}
	return p
}

// wait waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (p *binaryServer) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %s:\n%s", timeout, p.stderr.String())
		return 0
	}
}
