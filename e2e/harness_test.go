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

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
)

// testServer is the real program serving on a port of its own, with its own data folder, as
// a user would start it: in this process through app.Run (startServer), or the built binary
// in a subprocess (startBinary).
type testServer struct{ *servertest.Server }

// freePort is a port free a moment ago, for the few tests that must name a port before the
// start (METRICS_ADDR, a port in use); servers themselves listen on :0.
func freePort(t testing.TB) string { return itest.FreePort(t) }

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

// startServer runs the program with servertest.Env(overrides) and waits until it is ready.
func startServer(t testing.TB, overrides map[string]string) *testServer {
	t.Helper()
	return &testServer{servertest.Start(t, overrides)}
}

// startWithEnv runs the program in this process with exactly env; the test's end stops it.
func startWithEnv(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	return &testServer{servertest.StartEnv(t, env)}
}

// ---- one run of the program, as a shell sees it ----

// cmdResult is what a shell sees of one run of the program.
type cmdResult = servertest.Result

// runCLI runs a command of the program against env's database (stdin empty) and returns its
// exit code, stdout and stderr.
func runCLI(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	res := servertest.Run(t, env, "", args...)
	return res.Code, res.Stdout, res.Stderr
}

// expectConfigExit checks that a run refused its configuration as a start must: exit code 2,
// nothing on stdout, and an error line naming variable. It returns that line.
func expectConfigExit(t testing.TB, res cmdResult, variable string) string {
	t.Helper()
	if res.Code != 2 {
		t.Errorf("exit code %d, want 2; stderr %q", res.Code, res.Stderr)
	}
	line := res.ErrorLine()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("want exactly one error line, got %q", res.Stderr)
	}
	if !strings.Contains(line, variable) {
		t.Errorf("the line does not name %s: %q", variable, line)
	}
	if res.Stdout != "" {
		t.Errorf("stdout should be empty, got %q", res.Stdout)
	}
	return line
}

// expectOnlyErrorLine checks that the run printed its error line and nothing else.
func expectOnlyErrorLine(t testing.TB, res cmdResult) {
	t.Helper()
	if res.Stderr != res.ErrorLine() {
		t.Errorf("stderr should be exactly one line, got %q", res.Stderr)
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
		return cmdResult{Code: -2}
	}
	if ctx.Err() != nil {
		t.Errorf("%s %v did not finish in time; stderr:\n%s", bin, args, stderr.String())
		return cmdResult{Code: -2}
	}
	return cmdResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
}

// binaryServer is the binary serving in a subprocess. Its Server has no cancel func: stop it
// with a signal.
type binaryServer struct {
	*testServer
	cmd    *exec.Cmd
	exited chan struct{}
}

// startBinary starts the binary as a server with env and waits until it is ready
// (servertest.Await).
func startBinary(t testing.TB, bin string, env map[string]string) *binaryServer {
	t.Helper()
	p := &binaryServer{cmd: exec.Command(bin), exited: make(chan struct{})}
	log := &itest.Buffer{}
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, log
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
	srv, err := servertest.Await(t, env, log, 20*time.Second, exited)
	if err != nil {
		t.Fatalf("binary: %v\n%s", err, log.String())
	}
	p.testServer = &testServer{srv}
	return p
}

// wait waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (p *binaryServer) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %s:\n%s", timeout, p.Log())
		return 0
	}
}
