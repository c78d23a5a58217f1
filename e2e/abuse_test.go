package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// aliasedLogins builds one document with n aliased login fields.
func aliasedLogins(n int, email, password string) string {
	var b strings.Builder
	b.WriteString("mutation {")
	for i := range n {
		fmt.Fprintf(&b, " a%d: login(input:{email:%q, password:%q}) { accessToken }", i, email, password)
	}
	b.WriteString(" }")
	return b.String()
}

// codes counts the error codes/reasons of a response's errors ("UNAUTHENTICATED/INVALID_CREDENTIALS").
func codes(r gqlResponse) map[string]int {
	out := map[string]int{}
	for _, e := range r.Errors {
		k := fmt.Sprint(e.Extensions["code"])
		if reason, ok := e.Extensions["reason"]; ok {
			k += "/" + fmt.Sprint(reason)
		}
		out[k]++
	}
	return out
}

// TestBruteForceAliased: fifty aliased login fields in one request count as fifty attempts.
// The account allows 10 failures; the rest answer RATE_LIMITED with retryAfter, without checking
// the password (so the right password is refused too), and other accounts are unaffected.
func TestBruteForceAliased(t *testing.T) {
	s := startServer(t, nil)
	s.register(t, "victim@example.com")
	s.register(t, "bystander@example.com")

	r := s.gql(t, "", aliasedLogins(50, "victim@example.com", "wrong guess 123"), nil)
	got := codes(r)
	if got["UNAUTHENTICATED/INVALID_CREDENTIALS"] != 10 || got["RATE_LIMITED"] != 40 {
		t.Fatalf("want 10 invalid credentials and 40 rate limited, got %v", got)
	}
	for _, e := range r.Errors {
		if e.Extensions["code"] == "RATE_LIMITED" {
			if n, ok := e.Extensions["retryAfter"].(float64); !ok || n < 1 || n != float64(int(n)) {
				t.Fatalf("retryAfter must be a positive whole number: %v", e.Extensions)
			}
		}
	}
	_, r = s.login(t, "victim@example.com", testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	_, r = s.login(t, "bystander@example.com", testPassword)
	expectOK(t, r)
}

// TestBruteForceConcurrent: attempts in flight count, so 40 concurrent guesses (GraphQL and
// /token mixed) get at most 10 password checks.
func TestBruteForceConcurrent(t *testing.T) {
	s := startServer(t, nil)
	s.register(t, "victim@example.com")
	var mu sync.Mutex
	checked, limited := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, r := s.login(t, "Victim@Example.com", "wrong guess 123")
				mu.Lock()
				defer mu.Unlock()
				switch r.code() {
				case "UNAUTHENTICATED":
					checked++
				case "RATE_LIMITED":
					limited++
				default:
					t.Errorf("unexpected answer %+v", r.Errors)
				}
				return
			}
			resp, err := http.PostForm(s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"victim@example.com"}, "password": {"wrong guess 123"}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case http.StatusBadRequest:
				checked++
			case http.StatusTooManyRequests:
				limited++
				if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
				}
			default:
				t.Errorf("/token status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if checked > 10 || checked+limited != 40 {
		t.Fatalf("checked %d passwords, limited %d: at most 10 checks allowed", checked, limited)
	}
}

// TestPasswordSprayingPerIP: one address trying one password across many accounts is stopped by
// the per-IP failure limit, though no single account reaches its own.
func TestPasswordSprayingPerIP(t *testing.T) {
	s := startServer(t, map[string]string{"LOGIN_FAILURES_PER_IP": "5"})
	for i := range 8 {
		_, r := s.login(t, fmt.Sprintf("target%d@example.com", i), "Summer2026!x")
		want := "UNAUTHENTICATED"
		if i >= 5 {
			want = "RATE_LIMITED"
		}
		if r.code() != want {
			t.Fatalf("attempt %d: want %s, got %+v", i, want, r.Errors)
		}
	}
}

// TestRateLimitsOff: RATE_LIMITS=off lifts every limit (benchmarks).
func TestRateLimitsOff(t *testing.T) {
	s := startServer(t, map[string]string{"RATE_LIMITS": "off"})
	s.register(t, "victim@example.com")
	r := s.gql(t, "", aliasedLogins(15, "victim@example.com", "wrong guess 123"), nil)
	if got := codes(r); got["UNAUTHENTICATED/INVALID_CREDENTIALS"] != 15 {
		t.Fatalf("want 15 checked attempts, got %v", got)
	}
}

// TestAliasBomb: more than 100 aliases in one document are refused before execution.
func TestAliasBomb(t *testing.T) {
	s := startServer(t, nil)
	reg := s.register(t, "a@example.com")
	var b strings.Builder
	b.WriteString("{")
	for i := range 150 {
		fmt.Fprintf(&b, " m%d: me { id }", i)
	}
	b.WriteString(" }")
	r := s.gql(t, reg.AccessToken, b.String(), nil)
	if len(r.Errors) == 0 || r.Data["m0"] != nil {
		t.Fatalf("alias bomb executed: %+v", r.Errors)
	}
}

// TestArrayBatchRefused: a JSON array of operations is not executed as a batch.
func TestArrayBatchRefused(t *testing.T) {
	s := startServer(t, nil)
	s.register(t, "victim@example.com")
	op := fmt.Sprintf(`{"query":%q}`, `mutation { login(input:{email:"victim@example.com", password:"wrong guess 123"}) { accessToken } }`)
	body := "[" + strings.Repeat(op+",", 49) + op + "]"
	resp, err := http.Post(s.URL+"/query", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusOK {
		t.Fatalf("array batch answered %d", resp.StatusCode)
	}
	// Nothing was attempted: the account still has all its attempts.
	r := s.gql(t, "", aliasedLogins(10, "victim@example.com", "wrong guess 123"), nil)
	if got := codes(r); got["UNAUTHENTICATED/INVALID_CREDENTIALS"] != 10 {
		t.Fatalf("the batch counted attempts: %v", got)
	}
}

// TestPasswordPolicy: NIST SP 800-63B rules, with the field named.
func TestPasswordPolicy(t *testing.T) {
	s := startServer(t, nil)
	for _, tc := range []struct{ name, email, password string }{
		{"short", "p1@example.com", "short12"},
		{"73 bytes", "p2@example.com", strings.Repeat("x", 73)},
		{"72 bytes of multibyte chars plus one", "p3@example.com", strings.Repeat("é", 36) + "x"},
		{"common", "p4@example.com", "password123"},
		{"common, other case", "p5@example.com", "Iloveyou1"},
		{"equals email", "p6longer@example.com", "P6longer@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.gql(t, "", `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { accessToken } }`, map[string]any{"e": tc.email, "p": tc.password})
			expectError(t, r, "BAD_USER_INPUT", "")
			if f := r.ext("field"); f != "password" {
				t.Fatalf("field = %q", f)
			}
		})
	}
	// Exactly 72 bytes is accepted and is never truncated: a 73rd byte does not log in.
	long := strings.Repeat("k", 71) + "z"
	r := s.gql(t, "", `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { accessToken } }`, map[string]any{"e": "max@example.com", "p": long})
	expectOK(t, r)
	_, r = s.login(t, "max@example.com", long+"!")
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	for _, bad := range []string{"no-at-sign", "two@@example.com", "a b@example.com", "x@", "@example.com", strings.Repeat("l", 65) + "@example.com", "ctl\x01@example.com"} {
		r := s.gql(t, "", `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { accessToken } }`, map[string]any{"e": bad, "p": testPassword})
		expectError(t, r, "BAD_USER_INPUT", "")
		if f := r.ext("field"); f != "email" {
			t.Fatalf("%q: field = %q", bad, f)
		}
	}
	s.register(t, "taken@example.com")
	r = s.gql(t, "", `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { accessToken } }`, map[string]any{"e": " TAKEN@example.com", "p": testPassword})
	expectError(t, r, "BAD_USER_INPUT", "")
}

// TestNoEnumerationByTiming: an unknown email costs a bcrypt comparison like a wrong password
// and gets the same error; medians within 20%.
func TestNoEnumerationByTiming(t *testing.T) {
	s := startServer(t, nil)
	for i := range 6 {
		s.register(t, fmt.Sprintf("known%d@example.com", i))
	}
	var unknown, wrong []time.Duration
	for i := range 18 {
		start := time.Now()
		_, r1 := s.login(t, fmt.Sprintf("nobody%d@example.com", i), "wrong guess 123")
		unknown = append(unknown, time.Since(start))
		start = time.Now()
		_, r2 := s.login(t, fmt.Sprintf("known%d@example.com", i%6), "wrong guess 123")
		wrong = append(wrong, time.Since(start))
		if r1.Errors[0].Message != r2.Errors[0].Message || r1.reason() != r2.reason() {
			t.Fatalf("different answers: %+v vs %+v", r1.Errors, r2.Errors)
		}
	}
	mu, mw := median(unknown), median(wrong)
	ratio := float64(mu) / float64(mw)
	t.Logf("median unknown email %v, wrong password %v (ratio %.2f)", mu, mw, ratio)
	if ratio < 0.8 || ratio > 1.2 {
		t.Fatalf("timing differs: unknown %v vs wrong %v", mu, mw)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
