package postgres

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// A database that stops answering (a network partition: no FIN, no RST) must not hang calls:
// they fail by their context's deadline, and the store recovers when the network returns.
func TestPartitionHonoursDeadlines(t *testing.T) {
	dsn := freshSchema(t)
	u, err := url.Parse(dsn)
	must(t, err)
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()

	s, err := Open(t.Context(), u.String())
	must(t, err)
	defer s.Close()
	now := time.Now()
	must(t, s.CreateUser(t.Context(), auth.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}))
	must(t, s.CreateSession(t.Context(), auth.Session{ID: "s1", UserID: "u1", CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour)}, auth.RefreshHash{Sum: []byte("h0")}, 0))

	p.frozen.Store(true)
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, "u1"); return err }},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: []byte("h0")}, auth.RefreshHash{Sum: []byte("h1")}, now)
			return err
		}},
		{"EndSession", func(ctx context.Context) error { _, err := s.EndSession(ctx, "s1", auth.EndLogout, now); return err }},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		start := time.Now()
		err := tc.call(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s succeeded through a frozen network", tc.name)
		}
		t.Logf("%s: %v after %v", tc.name, err, time.Since(start))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v with a 500ms deadline", tc.name, d)
		}
	}

	p.frozen.Store(false)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := s.UserByID(ctx, "u1"); err != nil {
		t.Errorf("no recovery after the network came back: %v", err)
	}
	t.Logf("recovered after %v", time.Since(start))
}

// proxy forwards TCP connections to target. While frozen it reads but delivers nothing and
// closes nothing, like a partition.
type proxy struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	closed chan struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &proxy{ln: ln, closed: make(chan struct{})}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

// pipe copies src to dst; when either side ends, it closes both, as a TCP relay would.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			select {
			case <-p.closed:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) close() {
	close(p.closed)
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
