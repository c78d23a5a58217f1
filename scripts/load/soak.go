package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// A soak runs mixed traffic at a steady rate for a long time and reports, once per interval, each kind's
// throughput and p99 and the server's resident memory, goroutines and database size, so that a
// leak or a growing table shows as a trend rather than hiding in one long average:
//
//	me         8 connections, 800 requests/s in all: { me { id email roles } }
//	refresh    4 connections, 200/s: each rotating its own session
//	login      2 connections, 5/s: the login mutation (bcrypt-bound)
//	subscribe  2 connections, as fast as they go: each opens a WebSocket, subscribes to
//	           securityEvents of the login scenario's account, waits for one event (the logins
//	           make them) and closes
//
// The rates are fixed (each connection waits for its next slot, and one that falls behind does
// not burst to catch up) so that the server is loaded, not saturated: a soak looks for growth
// over time, and a saturated CPU would only measure the scheduler.
// The summary compares the second interval with the last (the first includes warm-up) and
// gives the database's growth per million refreshes.

// soakMix is the connections per kind.
var soakMix = []struct {
	name  string
	conns int
	rps   float64 // in all; 0: unpaced
}{{"me", 8, 800}, {"refresh", 4, 200}, {"login", 2, 5}, {"subscribe", 2, 0}}

// window is one kind's measurements in the current interval; the reporter swaps it out.
type window struct {
	mu       sync.Mutex
	requests int
	bad      int
	sample   string
	lat      histogram
}

func (w *window) add(d time.Duration, err error) {
	w.mu.Lock()
	w.requests++
	w.lat.add(d)
	if err != nil {
		w.bad++
		if w.sample == "" {
			w.sample = err.Error()
		}
	}
	w.mu.Unlock()
}

func (w *window) take() (requests, bad int, sample string, lat histogram) {
	w.mu.Lock()
	defer w.mu.Unlock()
	requests, bad, sample, lat = w.requests, w.bad, w.sample, w.lat
	w.requests, w.bad, w.sample, w.lat = 0, 0, "", histogram{}
	return
}

// interval is what one report line says.
type interval struct {
	rps, p99ms map[string]float64
	rssMiB     float64
	goroutines float64
	dbBytes    int64
	refreshes  int // in all so far
	bad        int
}

func soak(ctx context.Context, c *client, o options, total, every time.Duration, dataDir string, stdout io.Writer) error {
	email, _, err := c.account(o)
	if err != nil {
		return err
	}
	o.email = email
	windows := map[string]*window{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, k := range soakMix {
		ko := o
		ko.conns = k.conns
		var steps []func(*bytes.Buffer) error
		if k.name == "subscribe" {
			steps, err = subscribeSteps(c, ko)
		} else {
			steps, _, err = scenarios[k.name](c, ko)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		w := &window{}
		windows[k.name] = w
		var pace time.Duration
		if k.rps > 0 {
			pace = time.Duration(float64(k.conns) / k.rps * float64(time.Second))
		}
		for _, step := range steps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf bytes.Buffer
				next := time.Now()
				for ctx.Err() == nil {
					if pace > 0 {
						if d := time.Until(next); d > 0 {
							select {
							case <-ctx.Done():
								return
							case <-time.After(d):
							}
						}
						next = maxTime(next.Add(pace), time.Now())
					}
					t0 := time.Now()
					err := step(&buf)
					if ctx.Err() != nil && err != nil {
						return // cut off by the end of the soak, not a wrong answer
					}
					w.add(time.Since(t0), err)
				}
			}()
		}
	}

	startDB := dirBytes(dataDir)
	var rows []interval
	refreshes, totalBad := 0, 0
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 1; n <= int(total/every); n++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		case <-tick.C:
		}
		iv := interval{rps: map[string]float64{}, p99ms: map[string]float64{}}
		line := fmt.Sprintf("interval=%d", n)
		for _, k := range soakMix {
			req, bad, sample, lat := windows[k.name].take()
			iv.rps[k.name] = float64(req) / every.Seconds()
			iv.p99ms[k.name] = lat.quantile(0.99).Seconds() * 1000
			iv.bad += bad
			if k.name == "refresh" {
				refreshes += req
			}
			line += fmt.Sprintf(" %s_rps=%.1f %s_p99_ms=%.2f", k.name, iv.rps[k.name], k.name, iv.p99ms[k.name])
			if sample != "" {
				line += fmt.Sprintf(" %s_sample=%.120s", k.name, strings.Join(strings.Fields(sample), "_"))
			}
		}
		m, err := c.serverMetrics()
		if err != nil {
			return err
		}
		iv.rssMiB, iv.goroutines = m["process_resident_memory_bytes"]/(1<<20), m["go_goroutines"]
		iv.dbBytes, iv.refreshes = dirBytes(dataDir), refreshes
		totalBad += iv.bad
		rows = append(rows, iv)
		fmt.Fprintf(stdout, "%s rss_mib=%.1f goroutines=%.0f db_mib=%.1f refreshes=%d bad=%d\n",
			line, iv.rssMiB, iv.goroutines, float64(iv.dbBytes)/(1<<20), refreshes, iv.bad)
	}
	cancel()
	wg.Wait()
	return soakSummary(stdout, rows, startDB, totalBad)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// soakSummary prints the growth from the second interval to the last of each figure.
func soakSummary(stdout io.Writer, rows []interval, startDB int64, bad int) error {
	if len(rows) < 3 {
		return errors.New("a soak needs at least three intervals")
	}
	first, last := rows[1], rows[len(rows)-1]
	growth := func(a, b float64) string {
		if a == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%+.1f%%", (b-a)/a*100)
	}
	fmt.Fprintf(stdout, "growth from interval 2 to %d: rss %s goroutines %s", len(rows),
		growth(first.rssMiB, last.rssMiB), growth(first.goroutines, last.goroutines))
	for _, k := range soakMix {
		fmt.Fprintf(stdout, " %s_p99 %s %s_rps %s", k.name, growth(first.p99ms[k.name], last.p99ms[k.name]),
			k.name, growth(first.rps[k.name], last.rps[k.name]))
	}
	fmt.Fprintln(stdout)
	if n := last.refreshes - first.refreshes; n > 0 && startDB > 0 {
		// From the second interval on: the first includes the WAL growing to its working size.
		perMillion := float64(last.dbBytes-first.dbBytes) / float64(n) * 1e6
		fmt.Fprintf(stdout, "database: %.1f MiB at the start, %.1f MiB after %d refreshes, %.1f MiB per million refreshes\n",
			float64(startDB)/(1<<20), float64(last.dbBytes)/(1<<20), last.refreshes, perMillion/(1<<20))
	}
	if bad > 0 {
		return badAnswers(bad)
	}
	return nil
}

// dirBytes is the size of the files in dir (the SQLite database, its WAL and shared memory);
// 0 when dir is empty or unreadable (a PostgreSQL run).
func dirBytes(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// serverMetrics reads the unlabelled samples of the server's /metrics.
func (c *client) serverMetrics() (map[string]float64, error) {
	u := strings.TrimSuffix(c.url, "/query") + "/metrics"
	resp, err := c.http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// subscribeSteps: each step opens a socket as o.email's user (signed in once per connection),
// subscribes to securityEvents and waits for one event, which the login scenario's sign-ins
// of the same account produce, then closes the socket.
func subscribeSteps(c *client, o options) ([]func(*bytes.Buffer) error, error) {
	wsURL := "ws" + strings.TrimPrefix(c.url, "http")
	steps := make([]func(*bytes.Buffer) error, o.conns)
	for i := range steps {
		t, err := c.signIn("login", o.email, o.password)
		if err != nil {
			return nil, err
		}
		steps[i] = func(*bytes.Buffer) error { return subscribeOnce(wsURL, t.AccessToken) }
	}
	return steps, nil
}

func subscribeOnce(wsURL, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	//nolint:bodyclose // the WebSocket library closes the handshake response body itself
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	send := func(v any) error {
		b, _ := json.Marshal(v)
		return conn.Write(ctx, websocket.MessageText, b)
	}
	next := func() (map[string]any, error) {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		return m, json.Unmarshal(b, &m)
	}
	if err := send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		return err
	}
	if m, err := next(); err != nil || m["type"] != "connection_ack" {
		return fmt.Errorf("connection_init: %v %v", m, err)
	}
	if err := send(map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": "subscription { securityEvents { type } }"}}); err != nil {
		return err
	}
	for {
		m, err := next()
		if err != nil {
			return fmt.Errorf("waiting for an event: %w", err)
		}
		switch m["type"] {
		case "ping":
			_ = send(map[string]any{"type": "pong"})
		case "next":
			if b, _ := json.Marshal(m["payload"]); bytes.Contains(b, []byte(`"errors"`)) {
				return fmt.Errorf("event with errors: %.160s", b)
			}
			_ = send(map[string]any{"id": "1", "type": "complete"})
			return conn.Close(websocket.StatusNormalClosure, "")
		default:
			return fmt.Errorf("unexpected %v", m)
		}
	}
}
