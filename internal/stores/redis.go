package stores

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/example/gqlauth/internal/config"
	redisstore "github.com/example/gqlauth/store/redis"
)

// redisConnectTimeout bounds the start's first contact with Redis. An unreachable Redis does
// not stop the start: the service runs with per-instance limits until it answers.
const redisConnectTimeout = 2 * time.Second

// OpenRedis connects to REDIS_URL when it is set (nil otherwise). Only a malformed URL is an
// error (exit code 2 naming REDIS_URL).
func OpenRedis(ctx context.Context, cfg config.Config, log *slog.Logger) (*redisstore.Client, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisConnectTimeout)
	defer cancel()
	c, err := redisstore.Open(ctx, cfg.RedisURL, redisstore.Options{KeyPrefix: cfg.RedisKeyPrefix, Logger: log})
	if err != nil {
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) { // its text would repeat the URL, password included
			reason = "is not a valid URL: " + ue.Err.Error()
		}
		return nil, &config.Error{Var: "REDIS_URL", Reason: reason}
	}
	return c, nil
}

// RedisStatus is the /readyz detail of Redis (nil without Redis).
func RedisStatus(c *redisstore.Client) func() string {
	if c == nil {
		return nil
	}
	return c.Status
}
