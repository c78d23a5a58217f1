package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/example/gqlauth/auth"
)

//go:embed templates/*.tmpl
var embedded embed.FS

const (
	htmlLayout = "layout.html.tmpl"
	textLayout = "layout.txt.tmpl"
)

// View is what a template sees.
type View struct {
	Product   string
	To        string
	Link      string // the link of a mail that carries one
	Time      string // when the request was made, e.g. "2026-12-01 14:05 UTC"
	IP        string // the client address of the request
	UserAgent string
	NewEmail  string            // an address change's new address
	Data      map[string]string // everything the outbox mail holds
}

type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// Renderer renders every template the auth service asks for (auth.MailTemplates).
type Renderer struct {
	product string
	mails   map[string]pair
}

// NewRenderer parses the embedded templates, each replaced by the file of the same name in dir
// when dir is not empty and has one, and checks that every mail renders.
func NewRenderer(product, dir string) (*Renderer, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // G304: the operator's template folder
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		return string(b), err
	}
	hl, err := read(htmlLayout)
	if err != nil {
		return nil, err
	}
	tl, err := read(textLayout)
	if err != nil {
		return nil, err
	}
	funcs := htmltemplate.FuncMap{"button": func(link, label string) map[string]string {
		return map[string]string{"Link": link, "Label": label}
	}}
	r := &Renderer{product: product, mails: map[string]pair{}}
	for _, name := range auth.MailTemplates() {
		body, err := read(name + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
		t, err := texttemplate.New(name).Funcs(texttemplate.FuncMap(funcs)).Parse(tl)
		if err == nil {
			_, err = t.Parse(body)
		}
		if err != nil {
			return nil, fmt.Errorf("mail template %s (text): %w", name, err)
		}
		h, err := htmltemplate.New(name).Funcs(funcs).Parse(hl)
		if err == nil {
			_, err = h.Parse(body)
		}
		if err != nil {
			return nil, fmt.Errorf("mail template %s (html): %w", name, err)
		}
		r.mails[name] = pair{text: t, html: h}
		sample := map[string]string{"link": "https://example.com/#token=x", "ip": "192.0.2.1", "userAgent": "Mozilla/5.0",
			"time": time.Now().UTC().Format(time.RFC3339), "newEmail": "new@example.com"}
		if _, err := r.Render(name, "someone@example.com", sample); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
	}
	return r, nil
}

// Render renders the mail template for to with the outbox mail's data.
func (r *Renderer) Render(template, to string, data map[string]string) (Message, error) {
	p, ok := r.mails[template]
	if !ok {
		return Message{}, fmt.Errorf("no mail template %q", template)
	}
	v := View{Product: r.product, To: to, Link: data["link"], IP: data["ip"], UserAgent: data["userAgent"],
		NewEmail: data["newEmail"], Data: data, Time: data["time"]}
	if t, err := time.Parse(time.RFC3339, data["time"]); err == nil {
		v.Time = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	var subject, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, err
	}
	if err := p.text.ExecuteTemplate(&text, "text", v); err != nil {
		return Message{}, err
	}
	if err := p.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return Message{}, err
	}
	return Message{
		To: to, Subject: strings.Join(strings.Fields(subject.String()), " "), // one line, whatever the template
		Text: strings.TrimLeft(text.String(), "\n"), HTML: html.String(),
	}, nil
}
