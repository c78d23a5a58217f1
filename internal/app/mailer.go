package app

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/mail"
	"github.com/example/gqlauth/mail/smtp"
)

// newMailer chooses how mail leaves: SMTP with SMTP_URL; without it the development mailbox in
// development, and nothing in production (mail operations then answer UNAVAILABLE, and this
// start logs it once).
func newMailer(cfg config.Config, store mail.MailboxStore, log *slog.Logger) (auth.Mailer, error) {
	if cfg.SMTP == nil && cfg.Production {
		log.Warn("SMTP_URL is not set: no mail is sent; the mail operations answer UNAVAILABLE (MAIL_NOT_CONFIGURED)")
		return nil, nil
	}
	product := cfg.MailFrom.Name
	if product == "" {
		product = "gqlauth"
	}
	r, err := mail.NewRenderer(product, cfg.MailTemplatesDir)
	if err != nil {
		return nil, &config.Error{Var: "MAIL_TEMPLATES_DIR", Reason: err.Error()}
	}
	d := &mail.Mailer{Renderer: r, Logger: log}
	if cfg.SMTP == nil {
		d.Transport, d.Name = mail.Mailbox{Store: store}, "development mailbox"
		log.Info("SMTP_URL is not set: mails go to the development mailbox (GET /dev/mailbox)")
		return d, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if cfg.SMTPCAFile != "" {
		pem, err := os.ReadFile(cfg.SMTPCAFile)
		if err != nil {
			return nil, &config.Error{Var: "SMTP_CA_FILE", Reason: err.Error()}
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, &config.Error{Var: "SMTP_CA_FILE", Reason: fmt.Sprintf("%s holds no PEM certificate", cfg.SMTPCAFile)}
		}
	}
	d.Transport, d.Name = smtp.New(*cfg.SMTP, cfg.MailFrom, smtp.Options{Timeout: cfg.SMTPTimeout, RootCAs: roots}), "smtp"
	log.Info("mail goes out over SMTP", "smtp", cfg.SMTP.String())
	return d, nil
}
