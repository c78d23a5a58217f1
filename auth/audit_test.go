package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// testClock is the settable clock shared by the service and its tokens.
type testClock = fakeclock.Clock

// svcFixture is an auth service on a real SQLite file with a manual clock.
type svcFixture struct {
	svc    *auth.Service
	store  auth.Store
	path   string
	clock  *testClock
	tokens *auth.Tokens
}

const testPassword = "correct horse battery staple"

// newSvc builds a service; wrap (optional) wraps its store, cfg (optional) adjusts its config.
func newSvc(t *testing.T, path string, clock *testClock, store auth.Store, cfg func(*auth.Config)) *svcFixture {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "auth.db")
	}
	if clock == nil {
		clock = fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	}
	if store == nil {
		store = authtest.OpenSQLite(t, path)
	}
	env := authtest.NewWith(t, authtest.Options{Store: store, Clock: clock, AccessTTL: 15 * time.Minute, Configure: func(c *auth.Config) {
		c.ReuseGrace = time.Second
		if cfg != nil {
			cfg(c)
		}
	}})
	return &svcFixture{svc: env.Service, store: store, path: path, clock: clock, tokens: env.Tokens}
}

var client = auth.Client{IP: "198.51.100.7", UserAgent: "audit-test/1.0"}

func clientCtx() context.Context { return auth.WithClient(context.Background(), client) }

// principal authorises the bearer of g's access token.
func (f *svcFixture) principal(t *testing.T, g auth.Grant) auth.Principal {
	t.Helper()
	return authtest.Principal(clientCtx(), t, f.svc, f.tokens, g)
}

func (f *svcFixture) login(t *testing.T, email string) auth.Grant {
	t.Helper()
	g, err := f.svc.Login(clientCtx(), email, testPassword)
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return g
}

// trail is the stored audit trail, oldest first.
func trail(t *testing.T, s auth.Store) []auth.AuditEntry {
	t.Helper()
	es, err := s.AuditAfter(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Every security event is stored with time, user, session, IP and user agent; refreshes are not.
func TestAuditTrailRecordsEveryEvent(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	ctx := clientCtx()
	admin, err := f.svc.CreateUser(ctx, "root@example.com", "an admin passphrase", []auth.Role{auth.RoleUser, auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	actor := auth.Principal{User: admin}

	reg, err := f.svc.Register(ctx, "alice@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	alice := reg.User.ID
	if _, err := f.svc.Login(ctx, "alice@example.com", "not the password"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := f.svc.Login(ctx, "nobody@example.com", testPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
	s2 := f.login(t, "alice@example.com")
	if _, err := f.svc.Refresh(ctx, s2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Second) // past the reuse grace
	if _, err := f.svc.Refresh(ctx, s2.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := f.svc.Logout(ctx, reg.RefreshToken); err != nil {
		t.Fatal(err)
	}
	s3, s4, s5 := f.login(t, "alice@example.com"), f.login(t, "alice@example.com"), f.login(t, "alice@example.com")
	p3 := f.principal(t, s3)
	if ok, err := f.svc.RevokeSession(ctx, p3, s4.SessionID); !ok || err != nil {
		t.Fatalf("revokeSession: %v %v", ok, err)
	}
	if _, err := f.svc.ChangePassword(ctx, p3, testPassword, "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetUserRoles(ctx, actor, alice, []auth.Role{auth.RoleUser, auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if ids, err := f.svc.RevokeUserSessions(ctx, auth.Principal{}, alice); err != nil || !slices.Equal(ids, []string{s3.SessionID}) {
		t.Fatalf("RevokeUserSessions = %v, %v; want [%s]", ids, err, s3.SessionID)
	}
	if _, err := f.svc.SetUserDisabled(ctx, actor, alice, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetUserDisabled(ctx, actor, alice, false); err != nil {
		t.Fatal(err)
	}
	f.svc.Close() // writes what is queued

	type row struct {
		typ     auth.EventType
		user    string
		session string
		reason  string
	}
	want := []row{
		{auth.EventUserRegistered, alice, reg.SessionID, ""},
		{auth.EventLoginFailed, alice, "", "INVALID_CREDENTIALS"},
		{auth.EventLoginFailed, "", "", "INVALID_CREDENTIALS"},
		{auth.EventLogin, alice, s2.SessionID, ""},
		{auth.EventRefreshReuse, alice, s2.SessionID, auth.EndTokenReuse},
		{auth.EventLogout, alice, reg.SessionID, auth.EndLogout},
		{auth.EventLogin, alice, s3.SessionID, ""},
		{auth.EventLogin, alice, s4.SessionID, ""},
		{auth.EventLogin, alice, s5.SessionID, ""},
		{auth.EventSessionRevoked, alice, s4.SessionID, auth.EndRevoked},
		{auth.EventSessionRevoked, alice, s5.SessionID, auth.EndPasswordChange},
		{auth.EventPasswordChanged, alice, s3.SessionID, ""},
		{auth.EventRolesChanged, alice, "", "by " + admin.ID},
		{auth.EventSessionRevoked, alice, s3.SessionID, auth.EndAdminRevoked + " by command line"},
		{auth.EventUserDisabled, alice, "", "by " + admin.ID},
		{auth.EventUserEnabled, alice, "", "by " + admin.ID},
	}
	got := trail(t, f.store)
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("stored: %s user=%q session=%q reason=%q", e.Type, e.UserID, e.SessionID, e.Reason)
		}
		t.Fatalf("%d audit rows, want %d", len(got), len(want))
	}
	start := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for i, w := range want {
		e := got[i]
		if e.Type != w.typ || e.UserID != w.user || e.SessionID != w.session || e.Reason != w.reason {
			t.Errorf("row %d = %s user=%q session=%q reason=%q; want %+v", i, e.Type, e.UserID, e.SessionID, e.Reason, w)
		}
		if e.IPAddress != client.IP || e.UserAgent != client.UserAgent {
			t.Errorf("row %d client = %q %q, want %q %q", i, e.IPAddress, e.UserAgent, client.IP, client.UserAgent)
		}
		if e.At.Before(start) || e.At.After(f.clock.Now()) {
			t.Errorf("row %d at %v, outside the test's clock", i, e.At)
		}
	}
}

// blockingAudit holds AppendAudit until released, like a slow database.
type blockingAudit struct {
	auth.Store
	release chan struct{}
	calls   atomic.Int32
}

func (b *blockingAudit) AppendAudit(ctx context.Context, events []auth.Event) error {
	b.calls.Add(1)
	<-b.release
	return b.Store.AppendAudit(ctx, events)
}

// A login does not wait for its audit row; Close waits until the queued rows are stored.
func TestAuditWriteIsOffTheRequestPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	slow := &blockingAudit{Store: authtest.OpenSQLite(t, path), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(slow.release) }) }
	f := newSvc(t, path, nil, slow, nil)
	// Registered after newSvc's cleanup, so it runs first: a failing test must not leave
	// Close waiting for a write that is never released.
	t.Cleanup(release)
	if _, err := f.svc.Register(clientCtx(), "bob@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			f.login(t, "bob@example.com")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logins waited for the blocked audit write")
	}
	if slow.calls.Load() == 0 {
		t.Fatal("the writer never tried to store the events")
	}
	closed := make(chan struct{})
	go func() { f.svc.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned before the queued events were stored")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if n := len(trail(t, slow.Store)); n != 6 { // REGISTERED and 5 LOGINs
		t.Errorf("%d rows stored after Close, want 6", n)
	}
	// After Close, an event is stored at once.
	f.login(t, "bob@example.com")
	if n := len(trail(t, slow.Store)); n != 7 {
		t.Errorf("%d rows after a login following Close, want 7", n)
	}
}

// Subscribers are fed from the trail: this instance's events at once (a local wake, not the
// poll: the poll interval here is an hour), another instance's when a push wakes the poll, each
// event once.
func TestDeliveryFromTheAuditTrail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	delivered := make(chan auth.Event, 100)
	b := newSvc(t, path, nil, nil, func(c *auth.Config) {
		c.PollInterval = time.Hour
		c.Deliver = func(e auth.Event) { delivered <- e }
	})
	a := newSvc(t, path, b.clock, nil, func(c *auth.Config) {
		c.OnChange = b.svc.Wake // stands in for Redis or LISTEN/NOTIFY
	})
	// An event stored before b started is not news.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.svc.Run(ctx)

	expect := func(what string, typ auth.EventType, user string) {
		t.Helper()
		select {
		case e := <-delivered:
			if e.Type != typ || e.UserID != user {
				t.Fatalf("%s: delivered %s of %q, want %s of %q", what, e.Type, e.UserID, typ, user)
			}
			if e.IPAddress != client.IP || e.UserAgent != client.UserAgent {
				t.Errorf("%s: delivered client %q %q", what, e.IPAddress, e.UserAgent)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing delivered", what)
		}
	}
	reg, err := b.svc.Register(clientCtx(), "carol@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	expect("register on this instance", auth.EventUserRegistered, reg.User.ID)
	b.login(t, "carol@example.com")
	expect("login on this instance", auth.EventLogin, reg.User.ID)
	a.login(t, "carol@example.com")
	expect("login on another instance", auth.EventLogin, reg.User.ID)

	b.svc.Wake() // a spurious wake delivers nothing again
	select {
	case e := <-delivered:
		t.Fatalf("delivered twice or more: %+v", e)
	case <-time.After(300 * time.Millisecond):
	}
}

// AuditEvents pages newest first with opaque cursors and refuses bad arguments.
func TestAuditEventsPages(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	var users []string
	for _, e := range []string{"d1@example.com", "d2@example.com"} {
		g, err := f.svc.Register(clientCtx(), e, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, g.User.ID)
	}
	for range 3 {
		f.login(t, "d1@example.com")
	}
	f.svc.Close()
	ctx := context.Background()

	var seqs []int64
	after := ""
	for range 10 {
		page, err := f.svc.AuditEvents(ctx, "", 2, after)
		if err != nil {
			t.Fatal(err)
		}
		if page.HasPrevious != (after != "") || len(page.Cursors) != len(page.Entries) {
			t.Fatalf("page info: %+v", page)
		}
		for _, e := range page.Entries {
			seqs = append(seqs, e.Seq)
		}
		if !page.HasNext {
			break
		}
		after = page.Cursors[len(page.Cursors)-1]
	}
	if len(seqs) != 5 || !slices.IsSortedFunc(seqs, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("paged seqs %v, want 5 newest first", seqs)
	}
	page, err := f.svc.AuditEvents(ctx, users[1], 20, "")
	if err != nil || len(page.Entries) != 1 || page.Entries[0].UserID != users[1] || page.HasNext {
		t.Errorf("one user's events: %+v, %v", page, err)
	}
	for _, bad := range []struct {
		first int
		after string
		field string
	}{
		{-1, "", "first"}, {101, "", "first"}, {5, "not a cursor", "after"}, {5, "dXNlcjp4", "after"},
	} {
		_, err := f.svc.AuditEvents(ctx, "", bad.first, bad.after)
		var input *auth.InputError
		if !errors.As(err, &input) || input.Field != bad.field {
			t.Errorf("AuditEvents(%d, %q) = %v, want an input error on %s", bad.first, bad.after, err, bad.field)
		}
	}
}
