package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// The mail tables: tokens (voided by a newer one, single-use, bound to their user, their
// address and, for resets, the security stamp), the outbox (claims with leases that never hand
// one mail to two claimers, retries, outcomes) and the development mailbox.
var mailTests = []test{
	{"Mail/EmailVerifiedStored", testEmailVerifiedStored},
	{"Mail/ClaimLeaseRetryFinish", testClaimLeaseRetryFinish},
	{"Mail/ConcurrentClaimsTakeEachMailOnce", testConcurrentClaims},
	{"Mail/NewerTokenVoidsOlder", testNewerTokenVoidsOlder},
	{"Mail/RedeemVerifyOnce", testRedeemVerifyOnce},
	{"Mail/RedeemRefusesWrongUserKindExpiry", testRedeemRefusals},
	{"Mail/RedeemChangeEmail", testRedeemChangeEmail},
	{"Mail/ResetTokenInSecurityChange", testResetTokenInSecurityChange},
	{"Mail/MailboxKeepsNewest", testMailboxKeepsNewest},
	{"Mail/PurgeFinishedAndSpent", testPurgeMail},
}

func queued(id, to string, at time.Time) auth.OutboxMail {
	return auth.OutboxMail{ID: id, Template: "verify-email", Kind: auth.MailVerifyEmail, To: to,
		Data: map[string]string{"ip": "192.0.2.1"}, CreatedAt: at, NextAttempt: at, Status: auth.MailQueued}
}

func issue(t *testing.T, s auth.Store, mailID string, u auth.User, kind auth.MailKind, token string, at time.Time) {
	t.Helper()
	must(t, s.IssueMailToken(ctxOf(t), mailID, auth.MailToken{Hash: hashOf(token), UserID: u.ID, Kind: kind,
		Email: u.Email, Stamp: u.SecurityStamp, CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
		map[string]string{"link": "https://x/#token=" + token}))
}

func testEmailVerifiedStored(t *testing.T, s auth.Store) {
	u := newUser("u1")
	u.EmailVerified = true
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, newUser("u2"))
	for id, want := range map[string]bool{"u1": true, "u2": false} {
		got, err := s.UserByID(ctxOf(t), id)
		must(t, err)
		if got.EmailVerified != want {
			t.Errorf("%s: EmailVerified %v, want %v", id, got.EmailVerified, want)
		}
	}
}

func testClaimLeaseRetryFinish(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	must(t, s.EnqueueMail(ctx, queued("m1", "a@example.com", t0)))
	must(t, s.EnqueueMail(ctx, queued("m2", "b@example.com", t0.Add(time.Minute)))) // not due yet at t0
	got, err := s.ClaimMail(ctx, at(time.Second), time.Minute, 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != "m1" || got[0].Data["ip"] != "192.0.2.1" || got[0].To != "a@example.com" {
		t.Fatalf("first claim: %+v", got)
	}
	checkTime(t, "CreatedAt", got[0].CreatedAt, t0)
	if again, _ := s.ClaimMail(ctx, at(2*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("a leased mail was claimed again: %+v", again)
	}
	if after, _ := s.ClaimMail(ctx, at(62*time.Second), time.Minute, 10); len(after) != 2 {
		t.Fatalf("after the lease ran out both are due: %+v", after) // m1 (lease over) and m2
	}
	must(t, s.RetryMail(ctx, "m1", at(time.Hour), "421 try later"))
	if got, _ := s.ClaimMail(ctx, at(30*time.Minute), time.Minute, 10); len(got) != 1 || got[0].ID != "m2" {
		t.Fatalf("a mail waiting for its retry was claimed (only m2, whose lease ran out, is due): %+v", got)
	}
	must(t, s.FinishMail(ctx, "m2", auth.MailDropped, "", at(30*time.Minute)))
	got, _ = s.ClaimMail(ctx, at(time.Hour), time.Minute, 10)
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "421 try later" {
		t.Fatalf("retry: %+v", got)
	}
	must(t, s.FinishMail(ctx, "m1", auth.MailSent, "", at(time.Hour)))
	if got, _ := s.ClaimMail(ctx, at(48*time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("finished mails were claimed: %+v", got)
	}
	n, oldest, err := s.MailStats(ctx)
	must(t, err)
	if n != 0 || !oldest.IsZero() {
		t.Fatalf("stats after finishing: %d %v", n, oldest)
	}
	must(t, s.EnqueueMail(ctx, queued("m3", "c@example.com", t0)))
	n, oldest, _ = s.MailStats(ctx)
	if n != 1 {
		t.Fatalf("stats: %d", n)
	}
	checkTime(t, "oldest", oldest, t0)
}

// Several claimers at once (goroutines here; instances in production) take every mail once.
func testConcurrentClaims(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	const mails = 60
	for i := range mails {
		must(t, s.EnqueueMail(ctx, queued(fmt.Sprintf("m%03d", i), "a@example.com", t0)))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimMail(ctx, at(time.Second), time.Hour, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != mails {
		t.Fatalf("claimed %d of %d mails", len(seen), mails)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
}

func testNewerTokenVoidsOlder(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	must(t, s.EnqueueMail(ctx, queued("m1", u.Email, t0)))
	must(t, s.EnqueueMail(ctx, queued("m2", u.Email, t0)))
	issue(t, s, "m1", u, auth.MailVerifyEmail, "old", t0)
	issue(t, s, "m2", u, auth.MailVerifyEmail, "new", t0)
	if _, err := s.MailTokenByHash(ctx, hashOf("old")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the older token survived a newer one: %v", err)
	}
	tok, err := s.MailTokenByHash(ctx, hashOf("new"))
	must(t, err)
	if tok.UserID != "u1" || tok.Kind != auth.MailVerifyEmail || tok.Email != u.Email || !tok.UsedAt.IsZero() {
		t.Fatalf("token: %+v", tok)
	}
	checkTime(t, "ExpiresAt", tok.ExpiresAt, t0.Add(time.Hour))
	got, _ := s.ClaimMail(ctx, at(time.Second), time.Minute, 10)
	for _, m := range got {
		if !m.Prepared || m.UserID != "u1" || m.Data["link"] == "" {
			t.Errorf("prepared mail: %+v", m)
		}
	}
	// A token of another kind is not voided.
	must(t, s.EnqueueMail(ctx, queued("m3", u.Email, t0)))
	issue(t, s, "m3", u, auth.MailResetPassword, "reset", t0)
	if _, err := s.MailTokenByHash(ctx, hashOf("new")); err != nil {
		t.Fatalf("a reset token voided a verification token: %v", err)
	}
	if err := s.IssueMailToken(ctx, "no-such-mail", auth.MailToken{Hash: hashOf("x"), UserID: "u1", Kind: auth.MailVerifyEmail,
		CreatedAt: t0, ExpiresAt: t0}, nil); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("issue for an unknown mail: %v", err)
	}
	if _, err := s.MailTokenByHash(ctx, hashOf("x")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatal("a failed issue left its token")
	}
}

func testRedeemVerifyOnce(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	must(t, s.EnqueueMail(ctx, queued("m1", u.Email, t0)))
	issue(t, s, "m1", u, auth.MailVerifyEmail, "tok", t0)
	before := len(allChanges(t, s))
	got, err := s.RedeemMailToken(ctx, "u1", auth.MailTokenUse{Hash: hashOf("tok"), Kind: auth.MailVerifyEmail}, at(time.Minute))
	must(t, err)
	if !got.EmailVerified || got.SecurityStamp != u.SecurityStamp {
		t.Fatalf("after verifying: %+v", got)
	}
	if len(allChanges(t, s)) != before+1 {
		t.Fatal("verifying appended no change entry (other instances would not see it)")
	}
	if _, err := s.RedeemMailToken(ctx, "u1", auth.MailTokenUse{Hash: hashOf("tok"), Kind: auth.MailVerifyEmail}, at(time.Minute)); !errors.Is(err, auth.ErrMailTokenInvalid) {
		t.Fatalf("second use: %v", err)
	}
	tok, _ := s.MailTokenByHash(ctx, hashOf("tok"))
	checkTime(t, "UsedAt", tok.UsedAt, at(time.Minute))
}

func testRedeemRefusals(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	must(t, s.EnqueueMail(ctx, queued("m1", u.Email, t0)))
	issue(t, s, "m1", u, auth.MailVerifyEmail, "tok", t0)
	for _, tc := range []struct {
		name, user, token string
		kind              auth.MailKind
		when              time.Duration
	}{
		{"another user", "u2", "tok", auth.MailVerifyEmail, time.Minute},
		{"another kind", "u1", "tok", auth.MailChangeEmail, time.Minute},
		{"expired", "u1", "tok", auth.MailVerifyEmail, time.Hour},
		{"unknown", "u1", "nope", auth.MailVerifyEmail, time.Minute},
	} {
		use := auth.MailTokenUse{Hash: hashOf(tc.token), Kind: tc.kind}
		if _, err := s.RedeemMailToken(ctx, tc.user, use, at(tc.when)); !errors.Is(err, auth.ErrMailTokenInvalid) {
			t.Errorf("%s: %v, want ErrMailTokenInvalid", tc.name, err)
		}
	}
	if got, _ := s.UserByID(ctx, "u1"); got.EmailVerified {
		t.Fatal("a refused redemption verified the address")
	}
}

func testRedeemChangeEmail(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("taken"))
	for i, to := range []string{"new@example.com", "taken@example.com"} {
		id := fmt.Sprint("m", i)
		must(t, s.EnqueueMail(ctx, queued(id, to, t0)))
		target := u
		target.Email = to
		must(t, s.IssueMailToken(ctxOf(t), id, auth.MailToken{Hash: hashOf(to), UserID: u.ID, Kind: auth.MailChangeEmail,
			Email: to, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, nil))
		if i == 0 { // both are unused tokens of one kind: keep the first by redeeming it now
			got, err := s.RedeemMailToken(ctx, "u1", auth.MailTokenUse{Hash: hashOf(to), Kind: auth.MailChangeEmail}, at(time.Minute))
			must(t, err)
			if got.Email != "new@example.com" || !got.EmailVerified {
				t.Fatalf("after the change: %+v", got)
			}
		}
	}
	if _, err := s.RedeemMailToken(ctx, "u1", auth.MailTokenUse{Hash: hashOf("taken@example.com"), Kind: auth.MailChangeEmail}, at(time.Minute)); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("change to a taken address: %v", err)
	}
	if tok, _ := s.MailTokenByHash(ctx, hashOf("taken@example.com")); !tok.UsedAt.IsZero() {
		t.Fatal("a failed change used its token")
	}
	if got, _ := s.UserByEmail(ctx, "new@example.com"); got.ID != "u1" {
		t.Fatalf("by the new address: %+v", got)
	}
}

// A reset redeems its token in the password change's transaction: a token issued before any
// other security change (stamp) is refused, and nothing of the change is applied then.
func testResetTokenInSecurityChange(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	must(t, s.EnqueueMail(ctx, queued("m1", u.Email, t0)))
	issue(t, s, "m1", u, auth.MailResetPassword, "stale", t0)
	// Any password change bumps the stamp: the token dies with it.
	_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "$2a$10$other"}, at(time.Second))
	must(t, err)
	use := &auth.MailTokenUse{Hash: hashOf("stale"), Kind: auth.MailResetPassword, CheckStamp: true}
	_, _, err = s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "$2a$10$reset", EndReason: auth.EndPasswordReset, Verify: true, Token: use}, at(2*time.Second))
	if !errors.Is(err, auth.ErrMailTokenInvalid) {
		t.Fatalf("a token from before a password change: %v", err)
	}
	if got, _ := s.UserByID(ctx, "u1"); got.PasswordHash != "$2a$10$other" || got.EmailVerified {
		t.Fatalf("a refused reset changed the user: %+v", got)
	}
	if live, _ := s.ListLiveSessions(ctx, "u1", at(2*time.Second)); len(live) != 1 {
		t.Fatalf("a refused reset ended sessions: %v", sessionIDs(live))
	}
	cur, _ := s.UserByID(ctx, "u1")
	must(t, s.EnqueueMail(ctx, queued("m2", u.Email, t0)))
	issue(t, s, "m2", cur, auth.MailResetPassword, "fresh", t0)
	use = &auth.MailTokenUse{Hash: hashOf("fresh"), Kind: auth.MailResetPassword, CheckStamp: true}
	got, ended, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "$2a$10$reset", EndReason: auth.EndPasswordReset, Verify: true, Token: use}, at(3*time.Second))
	must(t, err)
	if got.PasswordHash != "$2a$10$reset" || !got.EmailVerified || len(ended) != 1 || ended[0] != "s1" {
		t.Fatalf("reset: %+v, ended %v", got, ended)
	}
	if _, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "$2a$10$again", Token: use}, at(4*time.Second)); !errors.Is(err, auth.ErrMailTokenInvalid) {
		t.Fatalf("a reset token used twice: %v", err)
	}
}

func testMailboxKeepsNewest(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	if list, err := s.ListMailbox(ctx, 10); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty mailbox: %v %v", list, err)
	}
	for i := range 7 {
		must(t, s.AppendMailbox(ctx, auth.MailboxEntry{ID: fmt.Sprint("m", i), To: "a@example.com", Subject: "Grüße",
			Text: "t", HTML: "<p>h</p>", SentAt: at(time.Duration(i) * time.Second)}, 5))
	}
	list, err := s.ListMailbox(ctx, 10)
	must(t, err)
	if len(list) != 5 || list[0].ID != "m6" || list[4].ID != "m2" || list[0].Subject != "Grüße" || list[0].HTML != "<p>h</p>" {
		t.Fatalf("mailbox: %+v", list)
	}
	checkTime(t, "SentAt", list[0].SentAt, at(6*time.Second))
}

func testPurgeMail(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := mustCreateUser(t, s, newUser("u1"))
	must(t, s.EnqueueMail(ctx, queued("sent", u.Email, t0)))
	must(t, s.EnqueueMail(ctx, queued("waiting", u.Email, t0)))
	issue(t, s, "sent", u, auth.MailVerifyEmail, "tok", t0)
	must(t, s.FinishMail(ctx, "sent", auth.MailSent, "", t0))
	var total int64
	for {
		n, err := s.PurgeMail(ctx, at(2*time.Hour), 1)
		must(t, err)
		total += n
		if n < 1 {
			break
		}
	}
	if total != 2 { // the sent mail and the expired token
		t.Fatalf("purged %d rows, want 2", total)
	}
	if n, _, _ := s.MailStats(ctx); n != 1 {
		t.Fatalf("the queued mail was purged: %d left", n)
	}
}
