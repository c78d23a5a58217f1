// Command load drives a running gqlauth server with concurrent GraphQL requests and reports
// throughput and latency. It starts nothing itself (scripts/load.sh builds and starts a server
// the way the benchmarks do) and checks every answer: a response that is not the right one
// counts as bad, and a run with bad answers exits with status 3.
//
//	go run ./scripts/load -url http://127.0.0.1:8080/query -c 32 -d 10s me public
//	go run ./scripts/load -c 8 -d 15s login
//	go run ./scripts/load -c 16 -d 10s refresh
//	go run ./scripts/load -wait 30s        # only wait until the server answers /healthz
//	go run ./scripts/load -soak 10m -every 1m -data DIR   # mixed traffic, a report per minute (soak.go)
//
// Scenarios:
//
//	me       { me { id email roles } } with a valid access token (one account, registered first)
//	public   { __typename }: the GraphQL path without authentication
//	login    the login mutation with the right password (bcrypt-bound)
//	refresh  each connection owns one session and rotates it: refresh(refreshToken: current),
//	         keeping the new refresh token for the next call; a wrong or unrotated answer is bad.
//	         Afterwards every connection's newest access token must work for `me`.
//
// Each scenario prints one line:
//
//	me       conns=32 secs=10.0 requests=386081 rps=38608.1 p50_ms=0.720 p99_ms=5.570 bad=0
//
// Latencies are kept in a log-linear histogram (about 3 % resolution), so a long run uses no
// more memory than a short one. The server must run with RATE_LIMITS=off, or the login and
// refresh scenarios run into the limits and their answers count as bad.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var bad badAnswers
		if errors.As(err, &bad) {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(3)
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// badAnswers is the error of a run that finished but got wrong answers.
type badAnswers int

func (n badAnswers) Error() string {
	return fmt.Sprintf("%d wrong answers (see bad= and sample=): the figures are not comparable", int(n))
}

type options struct {
	url      string
	conns    int
	duration time.Duration
	warmup   time.Duration
	wait     time.Duration
	timeout  time.Duration
	email    string
	password string
	soak     time.Duration
	every    time.Duration
	dataDir  string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/query", "the GraphQL endpoint")
	fs.IntVar(&o.conns, "c", 32, "connections: concurrent workers, each sending one request at a time")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to measure each scenario")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured load before each scenario")
	fs.DurationVar(&o.wait, "wait", 0, "wait up to this long for the server's /healthz before starting")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout (a login may wait for a bcrypt slot)")
	fs.StringVar(&o.email, "email", "", "an existing account for me and login (default: register a new one)")
	fs.StringVar(&o.password, "password", "correct horse battery staple 7", "its password, also used for the accounts it registers")
	fs.DurationVar(&o.soak, "soak", 0, "run the mixed soak (me, refresh, login, subscribe) for this long instead of scenarios")
	fs.DurationVar(&o.every, "every", time.Minute, "with -soak: the reporting interval")
	fs.StringVar(&o.dataDir, "data", "", "with -soak: the server's DATA_DIR, to report the database's size")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./scripts/load [flags] me|public|login|refresh ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if o.soak > 0 {
		c := newClient(o)
		if o.wait > 0 {
			if err := c.waitHealthy(ctx, o.wait); err != nil {
				return err
			}
		}
		return soak(ctx, c, o, o.soak, o.every, o.dataDir, stdout)
	}
	if len(names) == 0 && o.wait == 0 {
		fs.Usage()
		return errors.New("name at least one scenario (or only -wait, to wait for the server)")
	}
	for _, n := range names {
		if scenarios[n] == nil {
			return fmt.Errorf("unknown scenario %q (me, public, login, refresh)", n)
		}
	}
	if o.conns < 1 || o.duration <= 0 {
		return errors.New("-c must be at least 1 and -d positive")
	}
	c := newClient(o)
	if o.wait > 0 {
		if err := c.waitHealthy(ctx, o.wait); err != nil {
			return err
		}
	}
	totalBad := 0
	for _, n := range names {
		r, err := measure(ctx, c, o, n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		fmt.Fprintln(stdout, r)
		totalBad += r.bad
	}
	if totalBad > 0 {
		return badAnswers(totalBad)
	}
	return nil
}

// ---------------------------------------------------------------- the client

type client struct {
	url  string
	http *http.Client
}

func newClient(o options) *client {
	tr := &http.Transport{
		MaxIdleConns:        o.conns * 2,
		MaxIdleConnsPerHost: o.conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{url: o.url, http: &http.Client{Transport: tr, Timeout: o.timeout}}
}

// post sends one GraphQL request and returns the status and body (read into buf).
func (c *client) post(body []byte, bearer string, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

// expect checks one answer: HTTP 200, no "errors", and want somewhere in the body.
func expect(status int, err error, body []byte, want string) error {
	switch {
	case err != nil:
		return err
	case status != http.StatusOK:
		return fmt.Errorf("HTTP %d: %.160s", status, body)
	case bytes.Contains(body, []byte(`"errors"`)):
		return fmt.Errorf("errors: %.200s", body)
	case !bytes.Contains(body, []byte(want)):
		return fmt.Errorf("no %s in %.160s", want, body)
	}
	return nil
}

func (c *client) waitHealthy(ctx context.Context, limit time.Duration) error {
	u, err := url.Parse(c.url)
	if err != nil {
		return err
	}
	u.Path, u.RawQuery = "/healthz", ""
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.http.Get(u.String())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %v: %v", u, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

const payloadFields = `{ accessToken refreshToken }`

// gql builds a request body.
func gql(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// signIn runs register or login and returns the tokens.
func (c *client) signIn(field, email, password string) (tokens, error) {
	kind := map[string]string{"register": "RegisterInput", "login": "LoginInput"}[field]
	body := gql(fmt.Sprintf(`mutation($input: %s!) { %s(input: $input) %s }`, kind, field, payloadFields),
		map[string]any{"input": map[string]any{"email": email, "password": password}})
	var buf bytes.Buffer
	status, err := c.post(body, "", &buf)
	if err := expect(status, err, buf.Bytes(), `"accessToken"`); err != nil {
		return tokens{}, fmt.Errorf("%s %s: %w", field, email, err)
	}
	return decodeTokens(buf.Bytes(), field)
}

func decodeTokens(body []byte, field string) (tokens, error) {
	var out struct {
		Data map[string]tokens `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return tokens{}, fmt.Errorf("%s: not JSON: %.160s", field, body)
	}
	t := out.Data[field]
	if t.AccessToken == "" || t.RefreshToken == "" {
		return tokens{}, fmt.Errorf("%s: no tokens in %.160s", field, body)
	}
	return t, nil
}

// newEmail is a fresh address, so runs against the same server do not collide.
func newEmail() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "load-" + hex.EncodeToString(b[:]) + "@example.com"
}

// account is the one account of the me and login scenarios: -email, or a new registration.
func (c *client) account(o options) (string, tokens, error) {
	if o.email != "" {
		t, err := c.signIn("login", o.email, o.password)
		return strings.ToLower(o.email), t, err
	}
	email := newEmail()
	t, err := c.signIn("register", email, o.password)
	return email, t, err
}

// ---------------------------------------------------------------- scenarios

// A scenario prepares one step function per connection; a step sends one request and says
// whether its answer was right. finish, when set, checks the end state (its failures are bad).
type scenario func(c *client, o options) (steps []func(buf *bytes.Buffer) error, finish func() int, err error)

var scenarios = map[string]scenario{
	"me":      meScenario,
	"public":  publicScenario,
	"login":   loginScenario,
	"refresh": refreshScenario,
}

// same gives every connection the same step.
func same(n int, step func(buf *bytes.Buffer) error) []func(buf *bytes.Buffer) error {
	steps := make([]func(buf *bytes.Buffer) error, n)
	for i := range steps {
		steps[i] = step
	}
	return steps
}

func meScenario(c *client, o options) ([]func(*bytes.Buffer) error, func() int, error) {
	email, t, err := c.account(o)
	if err != nil {
		return nil, nil, err
	}
	body, want := gql(`{ me { id email roles } }`, nil), `"email":"`+email+`"`
	return same(o.conns, func(buf *bytes.Buffer) error {
		status, err := c.post(body, t.AccessToken, buf)
		return expect(status, err, buf.Bytes(), want)
	}), nil, nil
}

func publicScenario(c *client, o options) ([]func(*bytes.Buffer) error, func() int, error) {
	body := gql(`{ __typename }`, nil)
	return same(o.conns, func(buf *bytes.Buffer) error {
		status, err := c.post(body, "", buf)
		return expect(status, err, buf.Bytes(), `"__typename":"Query"`)
	}), nil, nil
}

func loginScenario(c *client, o options) ([]func(*bytes.Buffer) error, func() int, error) {
	email, _, err := c.account(o)
	if err != nil {
		return nil, nil, err
	}
	body := gql(`mutation($input: LoginInput!) { login(input: $input) `+payloadFields+` }`,
		map[string]any{"input": map[string]any{"email": email, "password": o.password}})
	return same(o.conns, func(buf *bytes.Buffer) error {
		status, err := c.post(body, "", buf)
		return expect(status, err, buf.Bytes(), `"accessToken":"`)
	}), nil, nil
}

// refreshScenario: each connection owns one session and rotates it (rotate, then use the new
// token), as a client keeping itself signed in does.
func refreshScenario(c *client, o options) ([]func(*bytes.Buffer) error, func() int, error) {
	sessions := make([]tokens, o.conns)
	errs := make([]error, o.conns)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], errs[i] = c.signIn("register", newEmail(), o.password)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	const query = `mutation($t: String) { refresh(refreshToken: $t) ` + payloadFields + ` }`
	steps := make([]func(*bytes.Buffer) error, o.conns)
	for i := range steps {
		s := &sessions[i]
		steps[i] = func(buf *bytes.Buffer) error {
			status, err := c.post(gql(query, map[string]any{"t": s.RefreshToken}), "", buf)
			if err := expect(status, err, buf.Bytes(), `"refreshToken":"`); err != nil {
				// The session may be gone now: open a new one and go on.
				if t, rerr := c.signIn("register", newEmail(), o.password); rerr == nil {
					*s = t
				}
				return err
			}
			t, err := decodeTokens(buf.Bytes(), "refresh")
			if err == nil && t.RefreshToken == s.RefreshToken {
				err = errors.New("refresh returned the same refresh token (no rotation)")
			}
			if err != nil {
				return err
			}
			*s = t
			return nil
		}
	}
	finish := func() int {
		bad := 0
		body := gql(`{ me { id } }`, nil)
		var buf bytes.Buffer
		for _, s := range sessions {
			status, err := c.post(body, s.AccessToken, &buf)
			if expect(status, err, buf.Bytes(), `"me":{"id":"`) != nil {
				bad++
			}
		}
		return bad
	}
	return steps, finish, nil
}

// ---------------------------------------------------------------- measuring

type result struct {
	name     string
	conns    int
	elapsed  time.Duration
	requests int
	bad      int
	sample   string
	lat      histogram
}

func (r result) String() string {
	s := fmt.Sprintf("%-8s conns=%d secs=%.1f requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f bad=%d",
		r.name, r.conns, r.elapsed.Seconds(), r.requests, float64(r.requests)/r.elapsed.Seconds(),
		r.lat.quantile(0.50).Seconds()*1000, r.lat.quantile(0.99).Seconds()*1000, r.bad)
	if r.sample != "" {
		s += " sample=" + strings.Join(strings.Fields(r.sample), "_")
	}
	return s
}

func measure(ctx context.Context, c *client, o options, name string) (result, error) {
	steps, finish, err := scenarios[name](c, o)
	if err != nil {
		return result{}, err
	}
	if o.warmup > 0 {
		load(ctx, steps, o.warmup)
	}
	start := time.Now()
	workers := load(ctx, steps, o.duration)
	r := result{name: name, conns: o.conns, elapsed: time.Since(start)}
	for _, w := range workers {
		r.requests += w.requests
		r.bad += w.bad
		r.lat.merge(&w.lat)
		if r.sample == "" {
			r.sample = w.sample
		}
	}
	if finish != nil {
		if n := finish(); n > 0 {
			r.bad += n
			if r.sample == "" {
				r.sample = fmt.Sprintf("%d sessions' newest access tokens did not work for me", n)
			}
		}
	}
	if len(r.sample) > 200 {
		r.sample = r.sample[:200]
	}
	return r, nil
}

type worker struct {
	requests, bad int
	sample        string
	lat           histogram
}

// load runs every step in its own goroutine, back to back, for d.
func load(ctx context.Context, steps []func(*bytes.Buffer) error, d time.Duration) []worker {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	workers := make([]worker, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &workers[i]
			var buf bytes.Buffer
			for ctx.Err() == nil {
				t0 := time.Now()
				err := step(&buf)
				w.lat.add(time.Since(t0))
				w.requests++
				if err != nil {
					w.bad++
					if w.sample == "" {
						w.sample = err.Error()
					}
				}
			}
		}()
	}
	wg.Wait()
	return workers
}
