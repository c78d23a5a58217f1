package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var clientTests = []test{
	{"Clients/CreateAndRead", testClientCreateAndRead},
	{"Clients/List", testClientList},
	{"Clients/Revoke", testClientRevoke},
}

func newClient(id string, scopes ...string) auth.OAuthClient {
	return auth.OAuthClient{
		ID: id, Name: "service " + id, SecretHash: hashOf("secret of " + id),
		Scopes: scopes, CreatedAt: t0,
	}
}

// A client reads back as written: times in UTC at microsecond precision, scopes in order, no
// scopes as nil; an unknown id is ErrNotFound.
func testClientCreateAndRead(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	must(t, s.CreateClient(ctx, newClient("cl_a", "read:users", "feed")))
	must(t, s.CreateClient(ctx, newClient("cl_b")))
	got, err := s.ClientByID(ctx, "cl_a")
	must(t, err)
	want := newClient("cl_a", "read:users", "feed")
	want.CreatedAt = t0.UTC().Truncate(time.Microsecond)
	if got.ID != want.ID || got.Name != want.Name || !slices.Equal(got.SecretHash, want.SecretHash) ||
		!slices.Equal(got.Scopes, want.Scopes) || !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		got.CreatedAt.Nanosecond()%1000 != 0 || got.Revoked() {
		t.Fatalf("ClientByID = %+v, want %+v", got, want)
	}
	b, err := s.ClientByID(ctx, "cl_b")
	must(t, err)
	if b.Scopes != nil {
		t.Fatalf("no scopes read back as %#v, want nil", b.Scopes)
	}
	if _, err := s.ClientByID(ctx, "cl_missing"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown client: %v, want ErrNotFound", err)
	}
	mustLogNothing(t, s, "creating clients")
}

// ListClients returns every client, revoked ones included, oldest first.
func testClientList(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	if cs, err := s.ListClients(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("empty store: %v, %v", cs, err)
	}
	for i, id := range []string{"cl_3", "cl_1", "cl_2"} {
		c := newClient(id)
		c.CreatedAt = at(time.Duration(i) * time.Second)
		must(t, s.CreateClient(ctx, c))
	}
	_, err := s.RevokeClient(ctx, "cl_1", at(time.Hour))
	must(t, err)
	cs, err := s.ListClients(ctx)
	must(t, err)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"cl_3", "cl_1", "cl_2"}) || !cs[1].Revoked() || cs[0].Revoked() {
		t.Fatalf("ListClients = %+v", cs)
	}
}

// RevokeClient revokes once, logging one ChangeClientRevoked entry with the client id in UserID;
// again it reports false and logs nothing; an unknown id is ErrNotFound.
func testClientRevoke(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	must(t, s.CreateClient(ctx, newClient("cl_a")))
	ok, err := s.RevokeClient(ctx, "cl_a", at(time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("first revocation reported false")
	}
	c, err := s.ClientByID(ctx, "cl_a")
	must(t, err)
	if !c.RevokedAt.Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("RevokedAt = %v, want %v", c.RevokedAt, at(time.Minute))
	}
	if ok, err := s.RevokeClient(ctx, "cl_a", at(2*time.Minute)); err != nil || ok {
		t.Fatalf("second revocation = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.RevokeClient(ctx, "cl_missing", at(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown client: %v, want ErrNotFound", err)
	}
	cs := allChanges(t, s)
	if len(cs) != 1 || cs[0].Kind != auth.ChangeClientRevoked || cs[0].UserID != "cl_a" || cs[0].SessionID != "" ||
		!cs[0].At.Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("change log = %+v", cs)
	}
}
