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
