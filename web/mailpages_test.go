package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestMailPages: each page behind a mail link is self-contained (only our hashed assets, no
// inline code), sent with headers that keep it out of caches, referrers and frames, and the
// same bytes whatever the request carries: the page never reflects or reads anything the GET
// sent, so a prefetch learns and uses nothing.
func TestMailPages(t *testing.T) {
	h := MailPages("/query")
	for _, p := range mailPages {
		t.Run(p.Flow, func(t *testing.T) {
			resp := get(t, h, p.Path, nil)
			page := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", p.Path, resp.StatusCode)
			}
			for k, want := range map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": PagesCSP,
				"Cache-Control":           "no-store",
				"Referrer-Policy":         "no-referrer",
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if resp.Header.Get("Last-Modified") != "" || resp.Header.Get("ETag") != "" {
				t.Errorf("a no-store page offers a validator: %v", resp.Header)
			}
			if !strings.Contains(page, `data-flow="`+p.Flow+`"`) || !strings.Contains(page, `data-endpoint="/query"`) {
				t.Errorf("page lacks its flow or endpoint")
			}
			if !strings.Contains(page, "<h1>"+p.Title+"</h1>") {
				t.Errorf("page lacks its title %q", p.Title)
			}
			if got := strings.Contains(page, `id="new-password"`); got != p.Reset {
				t.Errorf("new-password field present = %v, want %v", got, p.Reset)
			}
			if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
				t.Errorf("page refers to another origin:\n%s", page)
			}
			if strings.Contains(page, "<style") || strings.Contains(page, " style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(page) ||
				regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(page) {
				t.Errorf("page has inline script or style:\n%s", page)
			}

			var assets []string
			for _, m := range refPattern.FindAllStringSubmatch(page, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					assets = append(assets, m[1])
				}
			}
			if len(assets) != 2 {
				t.Fatalf("page refers to %v, want its stylesheet and script", assets)
			}
			for _, ref := range assets {
				if !regexp.MustCompile(`^/assets/mailpage\.[0-9a-f]{12}\.(js|css)$`).MatchString(ref) {
					t.Errorf("asset URL %q is not a hashed mail page asset", ref)
				}
				if r := get(t, h, ref, nil); r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
					t.Errorf("GET %s = %d %q", ref, r.StatusCode, r.Header.Get("Cache-Control"))
				}
			}

			// The same bytes for a link that (wrongly) put a token in the query, or a scanner
			// sending odd headers.
			other := body(t, get(t, h, p.Path+"?token=abc&next=https://evil.example", http.Header{"Referer": {"https://mail.example/"}}))
			if other != page {
				t.Errorf("the page depends on the request")
			}
			if strings.Contains(other, "abc") || strings.Contains(other, "evil") {
				t.Errorf("the page reflects the query")
			}

			head := httptest.NewRecorder()
			h.ServeHTTP(head, httptest.NewRequest(http.MethodHead, p.Path, nil))
			if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Security-Policy") != PagesCSP {
				t.Errorf("HEAD %s = %d, %d bytes, CSP %q", p.Path, head.Code, head.Body.Len(), head.Header().Get("Content-Security-Policy"))
			}
			post := httptest.NewRecorder()
			h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, p.Path, strings.NewReader("token=x")))
			if post.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST %s = %d, want 405", p.Path, post.Code)
			}
		})
	}
}

// TestPagesCSP: the policy allows no inline code, no eval, nothing from elsewhere, no framing,
// no form target and no <base>.
func TestPagesCSP(t *testing.T) {
	for _, directive := range []string{"default-src 'none';", "script-src 'self';", "style-src 'self';", "connect-src 'self';",
		"base-uri 'none';", "form-action 'none';", "frame-ancestors 'none'"} {
		if !strings.Contains(PagesCSP, directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	for _, loose := range []string{"unsafe-", "*", "http:", "https:", "blob:", "data:"} {
		if strings.Contains(strings.Replace(PagesCSP, "img-src data:;", "", 1), loose) {
			t.Errorf("CSP allows %q: %s", loose, PagesCSP)
		}
	}
}

// TestMailPagesServeOnlyTheirAssets: in production without the playground, /assets/ is the
// mail pages' alone; GraphiQL's files and the Mailbox panel are not there.
func TestMailPagesServeOnlyTheirAssets(t *testing.T) {
	h := MailPages("/query")
	c := loadCatalog()
	for plain, url := range c.url {
		want := http.StatusNotFound
		if mailPageAssets[plain] {
			want = http.StatusOK
		}
		if resp := get(t, h, url, nil); resp.StatusCode != want {
			t.Errorf("GET %s (%s) = %d, want %d", url, plain, resp.StatusCode, want)
		}
	}
	for plain := range mailPageAssets {
		if c.url[plain] == "" {
			t.Errorf("%s is not embedded", plain)
		}
	}
	for _, path := range []string{"/", "/assets/", "/assets/mailpage.js", "/verify-email/", "/reset-password/x", "/dev/mailbox"} {
		if resp := get(t, h, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	if len(MailPagePaths) != len(mailPages) {
		t.Fatalf("MailPagePaths %v, pages %d", MailPagePaths, len(mailPages))
	}
	for i, p := range mailPages {
		if MailPagePaths[i] != p.Path {
			t.Errorf("MailPagePaths[%d] = %q, page %q", i, MailPagePaths[i], p.Path)
		}
	}
}

// TestMailPageScriptKeepsTheTokenOutOfURLs reads the page script for what a reviewer would
// check: the token is taken from the fragment, removed with history.replaceState, and sent
// only as a GraphQL variable in a POST body; nothing runs before the form is submitted. The
// behaviour itself is checked in Chromium (clients/test/mailpages.test.js).
func TestMailPageScriptKeepsTheTokenOutOfURLs(t *testing.T) {
	src, err := files.ReadFile("assets/mailpage.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	for _, must := range []string{"window.location.hash", "history.replaceState", "method: 'POST'", "form.addEventListener('submit', onSubmit)"} {
		if !strings.Contains(js, must) {
			t.Errorf("mailpage.js lacks %q", must)
		}
	}
	for _, never := range []string{"localStorage", "sessionStorage", "document.cookie", "location.search.get", "?token=", "innerHTML", "eval(", "sendBeacon"} {
		if strings.Contains(js, never) {
			t.Errorf("mailpage.js uses %q", never)
		}
	}
}

// TestPlaygroundMailbox: the Mailbox panel's files and its source are on the playground page
// only when asked for (development), never otherwise.
func TestPlaygroundMailbox(t *testing.T) {
	plain := body(t, get(t, Handler("/query"), "/", nil))
	if strings.Contains(plain, "mailbox") {
		t.Errorf("playground without the mailbox mentions it:\n%s", plain)
	}
	page := body(t, get(t, Handler("/query", WithMailbox("/dev/mailbox")), "/", nil))
	c := loadCatalog()
	for _, want := range []string{`id="mailbox" data-source="/dev/mailbox" data-frame-css="` + c.url["mailframe.css"] + `" hidden`, `src="` + c.url["mailbox.js"] + `"`, `href="` + c.url["mailbox.css"] + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("playground with the mailbox lacks %s", want)
		}
	}
	// After playground.js: the panel puts its button into the bar that page builds.
	if strings.Index(page, c.url["mailbox.js"]) < strings.Index(page, c.url["playground.js"]) {
		t.Errorf("mailbox.js loads before playground.js")
	}
	if strings.Contains(page, "<style") || regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(page) {
		t.Errorf("page has inline script or style")
	}
}
