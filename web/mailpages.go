package web

import (
	"bytes"
	"html/template"
	"net/http"
	"time"
)

// PagesCSP is the mail pages' Content-Security-Policy: the playground's, less what GraphiQL
// needs (data: fonts). Images only as data: URLs, for the empty icon that keeps the browser
// from asking for /favicon.ico. The page talks only to this origin, sends no form anywhere (its
// script posts the GraphQL request) and is never framed.
const PagesCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// A mailPage is one of the pages behind the links in mails. The token rides in the link's
// fragment (#token=…), which a browser never sends, so opening the page uses nothing: the
// page's script reads the fragment, removes it from the address bar, and sends the token only
// when the person presses the button.
type mailPage struct {
	Path    string
	Flow    string // data-flow, what mailpage.js does: "verify-email", "reset-password", "confirm-email-change"
	Title   string
	Lead    string
	Button  string
	Reset   bool   // asks for the new password
	Request string // how to get a fresh link, for the invalid and expired messages
}

// MailPagePaths are the paths MailPages serves, to mount with "GET " before each.
var MailPagePaths = []string{"/verify-email", "/reset-password", "/confirm-email-change"}

var mailPages = []mailPage{
	{
		Path: "/verify-email", Flow: "verify-email",
		Title:   "Verify your email address",
		Lead:    "Press the button to confirm that this address is yours.",
		Button:  "Verify my address",
		Request: "Sign in and ask for a new verification mail.",
	},
	{
		Path: "/reset-password", Flow: "reset-password",
		Title:   "Choose a new password",
		Lead:    "Enter a new password for your account. Every session of the account ends when it changes.",
		Button:  "Set the new password",
		Reset:   true,
		Request: "Ask for a new password reset mail.",
	},
	{
		Path: "/confirm-email-change", Flow: "confirm-email-change",
		Title:   "Confirm your new email address",
		Lead:    "Press the button to make this address the one your account uses.",
		Button:  "Confirm the new address",
		Request: "Sign in and ask for the change again.",
	},
}

var mailPageTemplate = template.Must(template.New("mailpage").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>{{.Page.Title}} · gqlauth</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{index .URL "mailpage.css"}}">
</head>
<body data-flow="{{.Page.Flow}}" data-endpoint="{{.Endpoint}}">
<main class="card">
<p class="brand">gqlauth</p>
<h1>{{.Page.Title}}</h1>
<p id="lead">{{.Page.Lead}}</p>
<form id="flow-form" autocomplete="off" novalidate hidden>
{{- if .Page.Reset}}
  <label for="new-password">New password</label>
  <input id="new-password" name="new-password" type="password" autocomplete="new-password" minlength="8" required aria-describedby="password-help password-error">
  <label for="repeat-password">Repeat it</label>
  <input id="repeat-password" name="repeat-password" type="password" autocomplete="new-password" required>
  <p id="password-help" class="help">At least 8 characters and at most 72 bytes; not a common password, not your email address.</p>
  <p id="password-error" class="field-error" role="alert" hidden></p>
{{- end}}
  <button id="flow-submit" type="submit">{{.Page.Button}}</button>
</form>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p id="request-again" class="help" hidden>{{.Page.Request}}</p>
<noscript><p class="status error">This page needs JavaScript to finish the step.</p></noscript>
</main>
<script src="{{index .URL "mailpage.js"}}"></script>
</body>
</html>
`))

// mailPageAssets are the only files MailPages serves under /assets/.
var mailPageAssets = map[string]bool{"mailpage.js": true, "mailpage.css": true}

// MailPages serves the three pages that finish the mail flows (MailPagePaths) and their assets
// at /assets/<hashed name>, for a GraphQL endpoint (a same-origin path such as "/query"). They
// are product pages, served in production too: mount them for each "GET <path>", and for
// "GET /assets/" where no playground (whose Handler serves every asset) is mounted.
//
// Each page is sent with Cache-Control: no-store (a shared computer's cache keeps nothing of a
// recovery), Referrer-Policy: no-referrer, and a CSP without inline code.
func MailPages(endpoint string) http.Handler {
	c := loadCatalog()
	rendered := map[string][]byte{}
	for _, p := range mailPages {
		var buf bytes.Buffer
		if err := mailPageTemplate.Execute(&buf, struct {
			Page     mailPage
			Endpoint string
			URL      map[string]string
		}{p, endpoint, c.url}); err != nil {
			panic(err)
		}
		rendered[p.Path] = buf.Bytes()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		html, ok := rendered[r.URL.Path]
		if !ok {
			c.serveAsset(w, r, mailPageAssets)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", PagesCSP)
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Robots-Tag", "noindex, nofollow")
		// No Last-Modified: with no-store there is nothing to revalidate.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(html))
	})
}
