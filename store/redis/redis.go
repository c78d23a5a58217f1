// Package redisstore connects the service's instances through Redis: a rate limiter whose
// counts every instance shares (Limiter), and a "wake" channel on which an instance announces
// that it appended to the store's change log, so that every other instance polls it at once.
//
// Redis speeds things up but is never the truth; the store's change log is. While Redis is
// unreachable a Client falls back to a per-instance in-memory limiter, and each instance's
// periodic change-log poll (auth.Config.PollInterval) still bounds how late it learns of an
// ended session. It logs the loss once and the recovery once, and returns to shared mode by
// itself.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix starts every key and channel name unless Options.KeyPrefix says otherwise.
const DefaultKeyPrefix = "gqlauth:"

// Timing of Client.Start's background work; variables so tests can shorten them.
var (
	healthInterval = time.Second            // ping the subscription this often when quiet
	minBackoff     = 100 * time.Millisecond // first reconnect delay
	maxBackoff     = 5 * time.Second        // longest reconnect delay
)

// Options configure a Client.
type Options struct {
	// KeyPrefix starts every key and the channel name, so that several deployments (or test
	// runs) can share one Redis. Default DefaultKeyPrefix.
	KeyPrefix string
	// Fallback limits attempts while Redis is unavailable; nil means auth.NewMemoryLimiter(nil).
	Fallback auth.Limiter
	// Now is the clock of the shared limiter; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Client is one instance's connection to Redis. It is safe for concurrent use.
type Client struct {
	rdb      *redis.Client
	channel  string
	id       string // this instance, so it ignores its own announcements
	log      *slog.Logger
	shared   *Limiter
	fallback auth.Limiter

	state   atomic.Int32 // stateUnknown, stateUp, stateDown
	notify  chan struct{}
	running sync.WaitGroup
}

const (
	stateUnknown int32 = iota
	stateUp
	stateDown
)

// Open parses url (redis:// or rediss://) and checks within ctx that Redis answers. Only a bad
// URL is an error: an unreachable Redis is logged and the Client starts in fallback mode; Start
// keeps trying to reach it.
func Open(ctx context.Context, url string, o Options) (*Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	// Fail fast rather than retry at length: a caller that cannot reach Redis falls back.
	opt.DialTimeout = time.Second
	opt.DialerRetries = 1
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.MaxRetries = 1
	opt.ContextTimeoutEnabled = true
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.Fallback == nil {
		o.Fallback = auth.NewMemoryLimiter(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	quietDriver.Do(func() { redis.SetLogger(discardLogger{}) })
	rdb := redis.NewClient(opt)
	c := &Client{
		rdb: rdb, channel: o.KeyPrefix + "wake", id: newMember(), log: o.Logger,
		shared: NewLimiter(rdb, o.KeyPrefix, o.Now, 0), fallback: o.Fallback,
		notify: make(chan struct{}, 1),
	}
	c.shared.onError = c.markDown
	if err := rdb.Ping(ctx).Err(); err != nil {
		c.markDown(err)
	} else {
		c.markUp()
	}
	return c, nil
}

// go-redis logs every failed dial on its own; the Client logs an outage once instead.
var quietDriver sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// Available reports whether Redis answered the last time it was used.
func (c *Client) Available() bool { return c.state.Load() == stateUp }

// Status is "ok" or "unavailable", for readiness details.
func (c *Client) Status() string {
	if c.Available() {
		return "ok"
	}
	return "unavailable"
}

func (c *Client) markDown(err error) {
	if c.state.Swap(stateDown) != stateDown {
		c.log.Warn("Redis unavailable: rate limits are per instance and other instances' changes arrive by polling until it is back",
			"err", err)
	}
}

func (c *Client) markUp() {
	switch c.state.Swap(stateUp) {
	case stateDown:
		c.log.Info("Redis available again: shared rate limits and instant change fan-out resumed")
	case stateUnknown:
		c.log.Info("Redis connected: shared rate limits and instant change fan-out", "addr", c.rdb.Options().Addr)
	}
}

// Limiter returns the limiter to use: the shared one while Redis is available, the fallback
// otherwise (and for any attempt on which Redis fails).
func (c *Client) Limiter() auth.Limiter { return fallbackLimiter{c} }

type fallbackLimiter struct{ c *Client }

func (f fallbackLimiter) Reserve(ctx context.Context, key string, limit int, window time.Duration) (auth.Reservation, error) {
	c := f.c
	if c.Available() {
		r, err := c.shared.Reserve(ctx, key, limit, window)
		var limited *auth.RateLimitedError
		switch {
		case err == nil, errors.As(err, &limited):
			return r, err
		case ctx.Err() != nil:
			return nil, err // the request is gone; not Redis's fault
		}
		c.markDown(err)
	}
	return c.fallback.Reserve(ctx, key, limit, window)
}

// Notify announces that this instance appended to the change log (auth.Config.OnChange). It
// never blocks: announcements coalesce and are published by what Start started.
func (c *Client) Notify() {
	if !c.Available() {
		return
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Publish announces a change synchronously, for a short-lived process (a command-line tool)
// that exits before Start's publisher would run. Servers use Notify.
func (c *Client) Publish(ctx context.Context) error {
	return c.rdb.Publish(ctx, c.channel, c.id).Err()
}

// Start publishes this instance's announcements and calls wake for every other instance's, in
// the background until ctx ends. It subscribes again after any failure, forever, with backoff,
// and calls wake after each (re)subscription, because announcements sent meanwhile were lost:
// the change-log poll then catches up.
func (c *Client) Start(ctx context.Context, wake func()) {
	c.running.Add(2)
	go func() {
		defer c.running.Done()
		c.publish(ctx)
	}()
	go func() {
		defer c.running.Done()
		c.listen(ctx, wake)
	}()
}

func (c *Client) listen(ctx context.Context, wake func()) {
	backoff := minBackoff
	for {
		subscribed, err := c.subscribe(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		c.markDown(err)
		if subscribed {
			backoff = minBackoff
		}
		// Full jitter, so instances that lost Redis together do not reconnect together.
		t := time.NewTimer(time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond) //nolint:gosec // G404: jitter, not a secret
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (c *Client) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.notify:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.rdb.Publish(pctx, c.channel, c.id).Err()
		cancel()
		if err != nil && ctx.Err() == nil {
			c.markDown(err)
		}
	}
}

// subscribe listens on the wake channel until the connection fails or ctx ends. subscribed
// reports whether the subscription was confirmed (so the backoff can start over).
func (c *Client) subscribe(ctx context.Context, wake func()) (subscribed bool, err error) {
	ps := c.rdb.Subscribe(ctx)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() }) // unblock the read at once
	defer stop()
	if err := ps.Subscribe(ctx, c.channel); err != nil {
		return false, err
	}
	if _, err := ps.ReceiveTimeout(ctx, 2*time.Second); err != nil { // the confirmation
		return false, err
	}
	if err := c.rdb.Ping(ctx).Err(); err != nil { // commands work too (the limiter's pool)
		return false, err
	}
	c.markUp()
	wake()

	lastHeard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		switch {
		case err == nil:
			lastHeard = time.Now()
			if m, ok := msg.(*redis.Message); ok && m.Payload != c.id {
				wake()
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case isTimeout(err):
			// Quiet. A peer that vanished without closing is only noticed by asking.
			if time.Since(lastHeard) > 3*healthInterval {
				return true, errors.New("redis: subscription connection does not answer")
			}
			if err := ps.Ping(ctx); err != nil {
				return true, err
			}
			if !c.Available() { // the limiter or publisher failed meanwhile: check commands
				if c.rdb.Ping(ctx).Err() == nil {
					c.markUp()
				}
			}
		default:
			return true, err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close waits for what Start started to stop (its context must have ended) and closes the
// connections.
func (c *Client) Close() error {
	c.running.Wait()
	return c.rdb.Close()
}
