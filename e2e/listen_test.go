package e2e

import (
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMetricsAddr: with METRICS_ADDR, /metrics is served on that address and not on the main
// port; the metrics listener serves nothing else and stops with the server.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + freePort(t)
	s := startServer(t, map[string]string{"METRICS_ADDR": addr})
	s.register(t, "metrics-addr@example.com")

	if status, _ := get(t, s.URL+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the main port: %d, want 404", status)
	}
	status, body := get(t, "http://"+addr+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, `graphql_operation_duration_seconds_count{operation="register"`) {
		t.Errorf("GET /metrics on METRICS_ADDR: %d\n%.500s", status, body)
	}
	for _, path := range []string{"/query", "/healthz", "/"} { // not a second way into the API
		if status, _ := get(t, "http://"+addr+path); status != http.StatusNotFound {
			t.Errorf("GET %s on METRICS_ADDR: %d, want 404", path, status)
		}
	}
	if !strings.Contains(s.Log(), "addr="+addr) {
		t.Errorf("the start does not log the metrics address:\n%s", s.Log())
	}

	s.Stop()
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("the metrics listener outlived the server")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s after stop: %v, want connection refused", addr, err)
	}
}

// TestMetricsOnMainPortByDefault: without METRICS_ADDR, /metrics stays on the main port.
func TestMetricsOnMainPortByDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if status, body := get(t, s.URL+"/metrics"); status != http.StatusOK || !strings.Contains(body, "auth_bcrypt_queue_wait_seconds") {
		t.Errorf("GET /metrics: %d\n%.300s", status, body)
	}
}

// TestHostListensThere: HOST=127.0.0.1 keeps the listener on loopback (the address it logs,
// and another address of this machine refuses the connection); without HOST it listens on
// every interface.
func TestHostListensThere(t *testing.T) {
	t.Parallel()
	other := nonLoopbackAddr(t)
	for _, tc := range []struct {
		host, want string
		reachable  bool // through the machine's non-loopback address
	}{
		{"127.0.0.1", "127.0.0.1", false},
		{"", "[::]", true},
	} {
		t.Run("HOST="+tc.host, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, map[string]string{"HOST": tc.host})
			if want := "addr=" + tc.want + ":" + s.Port(); !strings.Contains(s.Log(), want) {
				t.Errorf("the start does not log %s:\n%s", want, s.Log())
			}
			if other == "" {
				t.Log("no non-loopback address on this machine: not dialled")
				return
			}
			c, err := net.DialTimeout("tcp", net.JoinHostPort(other, s.Port()), 2*time.Second)
			if err == nil {
				c.Close()
			}
			if reached := err == nil; reached != tc.reachable {
				t.Errorf("dial %s: %v; want reachable=%v", other, err, tc.reachable)
			}
		})
	}
}

// nonLoopbackAddr is an IPv4 address of this machine other than loopback, or "".
func nonLoopbackAddr(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestDataFilesOwnerOnly: the database the server creates (password hashes inside), its WAL
// and SHM files are its owner's only, and so is the data folder it creates.
func TestDataFilesOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	s := startServer(t, map[string]string{"DATA_DIR": dir})
	s.register(t, "file-modes@example.com")
	for _, name := range []string{"app.db", "app.db-wal", "app.db-shm", "."} {
		want := fs.FileMode(0o600)
		if name == "." {
			want = 0o700
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}
