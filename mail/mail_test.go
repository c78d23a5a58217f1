package mail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/mail"
	"github.com/example/gqlauth/store/sqlite"
)

// TestMailboxTransport: the development mailbox keeps rendered mails in a real database, the
// newest 200, and GET /dev/mailbox lists them newest first in the documented shape.
func TestMailboxTransport(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r, err := mail.NewRenderer("Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	d := &mail.Mailer{Renderer: r, Transport: mail.Mailbox{Store: store}, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	for i := range mail.MailboxSize + 1 {
		err := d.Deliver(context.Background(), auth.OutboxMail{ID: fmt.Sprintf("m%03d", i), Template: "reset-password",
			To: "ada@example.com", Data: map[string]string{"link": "https://acme.example/reset-password#token=t" + fmt.Sprint(i), "ip": "192.0.2.1"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	mail.MailboxHandler(store).ServeHTTP(rec, httptest.NewRequest("GET", "/dev/mailbox", nil))
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != mail.MailboxSize || got[0]["id"] != "m200" || got[len(got)-1]["id"] != "m001" {
		t.Fatalf("%d mails, first %v, last %v", len(got), got[0]["id"], got[len(got)-1]["id"])
	}
	first := got[0]
	for _, k := range []string{"id", "to", "subject", "text", "html", "sentAt"} {
		if _, ok := first[k]; !ok || len(first) != 6 {
			t.Fatalf("entry keys: %v", first)
		}
	}
	if first["subject"] != "Reset your Acme password" || !strings.Contains(first["text"].(string), "#token=t200") ||
		!strings.Contains(first["html"].(string), "#token=t200") || first["sentAt"] != "2027-01-15T08:00:00Z" {
		t.Fatalf("entry: %v", first)
	}
	if _, err := r.Render("no-such-template", "a@example.com", nil); err == nil {
		t.Fatal("an unknown template rendered")
	}
}
