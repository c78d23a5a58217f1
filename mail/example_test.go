package mail_test

import (
	"fmt"
	"strings"

	"github.com/example/gqlauth/mail"
)

// A Renderer turns an outbox mail's template and data into the subject, text and HTML of a
// message; the link comes from the data the auth service stored with the mail.
func ExampleRenderer() {
	r, err := mail.NewRenderer("Acme", "") // "" : the built-in templates only
	if err != nil {
		panic(err)
	}
	msg, err := r.Render("verify-email", "ada@example.com", map[string]string{
		"link": "https://acme.example/verify-email#token=abc", "time": "2026-12-01T14:05:00Z",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(msg.Subject)
	fmt.Println(msg.Text[:strings.Index(msg.Text, "\n")])
	// Output:
	// Confirm your email address for Acme
	// Hello,
}
