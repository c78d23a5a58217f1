package auth_test

import (
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
)

// The in-memory limiter passes the suite the shared Redis limiter (store/redis) passes too.
func TestMemoryLimiterConformance(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, now func() time.Time) auth.Limiter { return auth.NewMemoryLimiter(now) })
}
