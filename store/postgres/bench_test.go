package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// BenchmarkRotate measures refresh rotations per second through one Store (4 round trips each).
func BenchmarkRotate(b *testing.B) {
	dsn := freshSchema(b)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateUser(ctx, auth.User{ID: "u", Email: "u@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		sid := fmt.Sprint("s", next.Add(1))
		if err := s.CreateSession(ctx, auth.Session{ID: sid, UserID: "u", CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(time.Hour)}, auth.RefreshHash{Sum: []byte(sid + "/0")}, 0); err != nil {
			b.Fatal(err)
		}
		for i := 0; pb.Next(); i++ {
			old, nw := fmt.Appendf(nil, "%s/%d", sid, i), fmt.Appendf(nil, "%s/%d", sid, i+1)
			if _, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: old}, auth.RefreshHash{Sum: nw}, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
