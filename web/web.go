// Package web serves the browser side of the service, entirely from files embedded in the
// binary: no CDN at run time, and a Content-Security-Policy that allows only our own scripts.
//
//   - Handler: the GraphiQL playground with a sign-in panel (development by default), and with
//     WithMailbox the Mailbox panel that shows the development mailbox's mails.
//   - MailPages: the pages behind the links in mails (/verify-email, /reset-password,
//     /confirm-email-change), served in production too. The token rides in the link's fragment,
//     so opening a page uses nothing; its button does.
//
// The vendored GraphiQL and React builds in assets/ are rebuilt from npm by build.sh and
// committed; the other files in assets/ are ours. Every asset is served under a
// content-hashed name (/assets/graphiql.min.3f2a….js), so it can be cached for a year: a new
// build gets a new URL. The pages themselves are never cached.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var files embed.FS

// CSP is the page's Content-Security-Policy: scripts and styles only from this origin (no
// inline code, no eval), fonts and images from this origin or data: URLs (GraphiQL's CSS inlines
// its fonts), GraphQL requests and the WebSocket only to this origin, never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes are fixed here rather than taken from the mime package, which reads the
// system's mime.types and may answer differently from machine to machine.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name          string // the plain name, "playground.js"
	body, gzipped []byte
	contentType   string
	etag          string
}

// catalog maps the hashed names to assets and the plain names to their URLs.
type catalog struct {
	byHashed map[string]*asset
	url      map[string]string // "graphiql.min.js" → "/assets/graphiql.min.<hash>.js"
}

// loadCatalog reads and compresses the embedded files once per process.
var loadCatalog = sync.OnceValue(func() *catalog {
	c := &catalog{byHashed: map[string]*asset{}, url: map[string]string{}}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		body, err := files.ReadFile("assets/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		ct, ok := contentTypes[ext]
		if !ok {
			ct = "application/octet-stream"
		}
		a := &asset{name: name, body: body, contentType: ct, etag: `"` + hash + `"`}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			a.gzipped = buf.Bytes()
		}
		c.byHashed[hashed] = a
		c.url[name] = "/assets/" + hashed
	}
	return c
})

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>GraphiQL · gqlauth</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{index .URL "graphiql.min.css"}}">
<link rel="stylesheet" href="{{index .URL "playground.css"}}">
<link rel="stylesheet" href="{{index .URL "security.css"}}">
{{- if .Mailbox}}
<link rel="stylesheet" href="{{index .URL "mailbox.css"}}">
{{- end}}
</head>
<body>
<form id="auth-panel" class="auth-panel" autocomplete="on" novalidate>
  <span class="auth-brand">gqlauth</span>
  <span id="signed-out" class="auth-group">
    <label>Email <input id="auth-email" name="email" type="email" autocomplete="username" required></label>
    <label>Password <input id="auth-password" name="password" type="password" autocomplete="current-password" required></label>
    <button id="auth-signin" type="submit">Sign in</button>
    <button id="auth-register" type="button" class="secondary">Register</button>
  </span>
  <span id="signed-in" class="auth-group" hidden>
    <span>Signed in as <strong id="auth-user"></strong></span>
    <span id="auth-expiry" class="auth-muted"></span>
    <button id="auth-signout" type="button" class="secondary">Sign out</button>
  </span>
  <output id="auth-status" class="auth-status" role="status" aria-live="polite"></output>
</form>
<div id="graphiql" data-endpoint="{{.Endpoint}}"><div class="loading">Loading…</div></div>
{{- if .Mailbox}}
<div id="mailbox" data-source="{{.Mailbox}}" data-frame-css="{{index .URL "mailframe.css"}}" hidden></div>
{{- end}}
<script src="{{index .URL "react.production.min.js"}}"></script>
<script src="{{index .URL "react-dom.production.min.js"}}"></script>
<script src="{{index .URL "graphiql.min.js"}}"></script>
<script src="{{index .URL "playground.js"}}"></script>
<script src="{{index .URL "qrcode.js"}}"></script>
<script src="{{index .URL "security.js"}}"></script>
{{- if .Mailbox}}
<script src="{{index .URL "mailbox.js"}}"></script>
{{- end}}
</body>
</html>
`))

// Option changes what the playground page shows.
type Option func(*options)

type options struct {
	mailbox string
}

// WithMailbox adds the Mailbox panel, which lists the mails of the development mailbox read
// from path (a same-origin JSON endpoint such as "/dev/mailbox") and opens their links. Only for
// development: the mails hold live tokens.
func WithMailbox(path string) Option {
	return func(o *options) { o.mailbox = path }
}

// Handler serves the playground page at / and its assets at /assets/<hashed name>, for a
// GraphQL endpoint (a path such as "/query", or an absolute http(s) URL; the WebSocket URL is
// derived from it). Mount it for "GET /{$}" and "GET /assets/". It serves every embedded asset,
// the mail pages' included, so it can take /assets/ alone.
func Handler(endpoint string, opts ...Option) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := loadCatalog()
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct {
		Endpoint string
		Mailbox  string
		URL      map[string]string
	}{endpoint, o.mailbox, c.url}); err != nil {
		panic(err)
	}
	html := buf.Bytes()
	started := time.Now()

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", CSP)
			h.Set("Cache-Control", "no-cache")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			http.ServeContent(w, r, "", started, bytes.NewReader(html))
			return
		}
		c.serveAsset(w, r, nil)
	})
}

// serveAsset answers /assets/<hashed name> from the catalog: any asset when only is nil, else
// only those named in it (the plain names), so a handler serves no file it does not use.
func (c *catalog) serveAsset(w http.ResponseWriter, r *http.Request, only map[string]bool) {
	name, ok := strings.CutPrefix(r.URL.Path, "/assets/")
	a := c.byHashed[name]
	if !ok || a == nil || (only != nil && !only[a.name]) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
