package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is the NOTIFY channel every change-log append signals (payload: the seq).
const ChangesChannel = "auth_changes"

// listenAppName names listener connections in pg_stat_activity.
const listenAppName = "gqlauth-listen"

// Timing of ListenChanges; variables so tests can shorten them.
var (
	listenIdleCheck  = 30 * time.Second // ping a quiet connection this often
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
)

// ListenChanges LISTENs on ChangesChannel on a dedicated connection and calls notify for every
// notification. It also calls notify after each (re)connect, because notifications sent while
// it was not listening are lost; the caller should then poll ChangesAfter. Connection failures
// are retried with exponential backoff. It returns ctx.Err() when ctx ends, and only then.
// notify runs on the listening goroutine and should not block for long.
func (s *Store) ListenChanges(ctx context.Context, notify func()) error {
	backoff := listenMinBackoff
	for {
		listened, _ := s.listenOnce(ctx, notify)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = listenMinBackoff
		}
		// Full jitter, so instances that lost the database together do not reconnect together.
		wait := time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond //nolint:gosec // G404: jitter, not a secret
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens and delivers notifications until the connection fails or ctx
// ends. listened reports whether LISTEN succeeded (so the backoff can start over).
func (s *Store) listenOnce(ctx context.Context, notify func()) (listened bool, err error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		return false, err
	}
	notify()

	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdleCheck)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			notify()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while. A dead peer may not be noticed by reading alone, so ask.
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
