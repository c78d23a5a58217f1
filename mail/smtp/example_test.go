package smtp_test

import (
	"fmt"
	netmail "net/mail"
	"time"

	"github.com/example/gqlauth/mail/smtp"
)

// ParseURL reads SMTP_URL; New makes the transport the mail package sends through.
func ExampleParseURL() {
	cfg, err := smtp.ParseURL("smtp://mailer:p%40ss@mail.example.com:587?tls=required")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Host, cfg.Port, cfg.TLS, cfg.Username)
	fmt.Println(cfg) // the password is never printed
	_ = smtp.New(cfg, &netmail.Address{Name: "Acme", Address: "no-reply@acme.example"}, smtp.Options{Timeout: 10 * time.Second})
	// Output:
	// mail.example.com 587 starttls-required mailer
	// smtp://mailer@mail.example.com:587?tls=required
}
