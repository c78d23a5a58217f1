package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

func fromAddr(ip string) context.Context {
	return auth.WithClient(context.Background(), auth.Client{IP: ip, UserAgent: "limit-test"})
}

// A malformed refresh token is refused before any limiter slot is taken: garbage from
// rotating addresses leaves no bucket behind. A well-formed one takes its address's slot.
func TestGarbageRefreshTokensTakeNoSlot(t *testing.T) {
	l := auth.NewMemoryLimiter(nil)
	f := newSvc(t, "", nil, nil, func(c *auth.Config) { c.Limiter = l })
	for i := range 2000 {
		ctx := fromAddr(fmt.Sprintf("2001:db8:%x:%x::1", i/256, i%256)) // 2,000 networks
		if _, err := f.svc.Refresh(ctx, fmt.Sprintf("rt_garbage-%d", i)); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
			t.Fatalf("garbage refresh: %v", err)
		}
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("%d limiter buckets after garbage refresh tokens, want 0", n)
	}
	_, err := f.svc.Refresh(fromAddr("198.51.100.7"), "rt_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Fatalf("unknown well-formed refresh token: %v", err)
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after one well-formed token, want its address's", n)
	}
}

// Every per-address rule groups IPv6 by /64 and IPv4-mapped addresses with IPv4, through the
// one key function: two addresses of a /64 share the login, registration and refresh budgets.
func TestPerAddressRulesGroupIPv6By64(t *testing.T) {
	rule := auth.Limit{N: 2, Window: 15 * time.Minute}
	f := newSvc(t, "", nil, nil, func(c *auth.Config) {
		c.Limiter = auth.NewMemoryLimiter(nil)
		c.LoginPerIP, c.RegisterPerIP, c.RefreshPerIP = rule, rule, rule
	})
	wellFormed := "rt_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	actions := map[string]func(ctx context.Context, i int) error{
		"login": func(ctx context.Context, i int) error {
			_, err := f.svc.Login(ctx, fmt.Sprintf("nobody%d@example.com", i), "wrong password")
			return err
		},
		"register": func(ctx context.Context, i int) error {
			_, err := f.svc.Register(ctx, fmt.Sprintf("new%d@example.com", i), testPassword)
			return err
		},
		"refresh": func(ctx context.Context, _ int) error {
			_, err := f.svc.Refresh(ctx, wellFormed)
			return err
		},
	}
	groups := [][]string{
		{"2001:db8:a:b::1", "2001:db8:a:b:ffff:ffff:ffff:ffff", "2001:db8:a:b::2"},
		{"198.51.100.9", "::ffff:198.51.100.9", "198.51.100.9"},
	}
	for name, act := range actions {
		for gi, group := range groups {
			for i, ip := range group {
				err := act(fromAddr(ip), 100*gi+i)
				var rl *auth.RateLimitedError
				if limited := errors.As(err, &rl); limited != (i == 2) {
					t.Errorf("%s #%d from %s (%v): limited %v, want %v", name, i+1, ip, group, limited, i == 2)
				}
			}
		}
		// Neighbouring networks keep their own budgets.
		for _, ip := range []string{"2001:db8:a:c::1", "198.51.100.10"} {
			var rl *auth.RateLimitedError
			if err := act(fromAddr(ip), 999); errors.As(err, &rl) {
				t.Errorf("%s from %s limited by its neighbour's attempts", name, ip)
			}
		}
	}
}
