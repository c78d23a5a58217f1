package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/verify"
)

const password = "correct horse battery staple"

type gqlResult struct {
	Data   map[string]json.RawMessage
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
}

func query(t *testing.T, url, token, q string) gqlResult {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	req, _ := http.NewRequest("POST", url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func code(r gqlResult) string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// startNotes runs the example against a real gqlauth started in this process.
func startNotes(t *testing.T, auth *servertest.Server, o verify.Options) string {
	t.Helper()
	o.Issuer, o.Audience = auth.Env["JWT_ISSUER"], auth.Env["JWT_AUDIENCE"]
	o.MetadataURL = auth.URL + "/.well-known/oauth-authorization-server"
	o.HTTPClient = auth.Client() // the metadata's URLs are the issuer's, which is no address
	h, closeFn, err := newServer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestNotesTrustsGqlauthTokens: the example accepts gqlauth's tokens, with its own @auth.
func TestNotesTrustsGqlauthTokens(t *testing.T) {
	auth := servertest.StartFollowed(t, nil)
	auth.CreateUser(t, "ada@example.com", "USER", password)
	auth.CreateUser(t, "root@example.com", "ADMIN", password)
	notes := startNotes(t, auth, verify.Options{})
	ada := auth.Login(t, "ada@example.com", password).AccessToken
	root := auth.Login(t, "root@example.com", password).AccessToken

	if r := query(t, notes, "", `{ hello }`); code(r) != "" || string(r.Data["hello"]) == "" {
		t.Fatalf("public field: %+v", r)
	}
	if r := query(t, notes, "", `{ me { id } }`); code(r) != "UNAUTHENTICATED" {
		t.Fatalf("no token: %+v", r)
	}
	if r := query(t, notes, "not.a.token", `{ me { id } }`); code(r) != "UNAUTHENTICATED" || r.Errors[0].Message != "the access token is invalid" {
		t.Fatalf("bad token: %+v", r)
	}
	if r := query(t, notes, ada, `mutation { addNote(text: "hi") { id author } }`); code(r) != "" {
		t.Fatalf("addNote: %+v", r)
	}
	r := query(t, notes, ada, `{ me { id roles sessionId } myNotes { text } }`)
	if code(r) != "" || !bytes.Contains(r.Data["myNotes"], []byte(`"hi"`)) || !bytes.Contains(r.Data["me"], []byte(`"USER"`)) {
		t.Fatalf("me, myNotes: %+v", r)
	}
	if r := query(t, notes, ada, `{ allNotes { text } }`); code(r) != "FORBIDDEN" {
		t.Fatalf("allNotes as a user: %+v", r)
	}
	if r := query(t, notes, root, `{ allNotes { text } }`); code(r) != "" {
		t.Fatalf("allNotes as an admin: %+v", r)
	}
}

// TestNotesRefusesLogoutWithinASecond: with a registered client's credentials the example
// follows gqlauth's revocation feed; a logout there is refused here within a second.
func TestNotesRefusesLogoutWithinASecond(t *testing.T) {
	auth := servertest.StartFollowed(t, nil)
	auth.CreateUser(t, "ada@example.com", "USER", password)
	c := auth.CreateClient(t, "notes")
	notes := startNotes(t, auth, verify.Options{ClientID: c.ID, ClientSecret: c.Secret})
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) { // ready: the feed answered
		resp, err := http.Get(notes + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the notes service did not become ready")
		}
	}
	g := auth.Login(t, "ada@example.com", password)
	if r := query(t, notes, g.AccessToken, `{ me { id } }`); code(r) != "" {
		t.Fatalf("before the logout: %+v", r)
	}
	sent := time.Now()
	auth.Logout(t, g.RefreshToken)
	for {
		r := query(t, notes, g.AccessToken, `{ me { id } }`)
		if code(r) == "UNAUTHENTICATED" {
			if r.Errors[0].Message != "the session has ended" {
				t.Fatalf("refused with %q", r.Errors[0].Message)
			}
			t.Logf("refused %v after the logout was sent", time.Since(sent))
			return
		}
		if time.Since(sent) > time.Second {
			t.Fatal("still accepted a second after the logout")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNotesUnavailableWithoutTheFeed: while the feed cannot be followed (here: a wrong client
// secret), the service refuses tokens as UNAVAILABLE, not as the caller's fault, and is not
// ready; public fields still work.
func TestNotesUnavailableWithoutTheFeed(t *testing.T) {
	auth := servertest.StartFollowed(t, nil)
	auth.CreateUser(t, "ada@example.com", "USER", password)
	c := auth.CreateClient(t, "notes")
	notes := startNotes(t, auth, verify.Options{ClientID: c.ID, ClientSecret: "not-the-secret"})
	g := auth.Login(t, "ada@example.com", password)
	if r := query(t, notes, g.AccessToken, `{ me { id } }`); code(r) != "UNAVAILABLE" {
		t.Fatalf("without the feed: %+v", r)
	}
	if r := query(t, notes, "", `{ hello }`); code(r) != "" {
		t.Fatalf("a public field without the feed: %+v", r)
	}
	resp, err := http.Get(notes + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz without the feed: %d", resp.StatusCode)
	}
}
