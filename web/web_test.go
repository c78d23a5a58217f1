package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var refPattern = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// TestPage: the page is self-contained (every script and stylesheet is one of ours, under a
// hashed /assets/ name), has no inline script or style for the CSP to allow, and is not cached.
func TestPage(t *testing.T) {
	h := Handler("/query")
	resp := get(t, h, "/", nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": CSP,
		"Cache-Control":           "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, directive := range []string{"script-src 'self';", "default-src 'none';", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	if strings.Contains(CSP, "unsafe-") {
		t.Errorf("CSP allows unsafe sources: %s", CSP)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "//cdn") {
		t.Errorf("page refers to another origin:\n%s", page)
	}
	if strings.Contains(page, "<style") || strings.Contains(page, " style=") || regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(page) {
		t.Errorf("page has inline script or style:\n%s", page)
	}
	if !strings.Contains(page, `data-endpoint="/query"`) {
		t.Errorf("page does not name the endpoint")
	}

	refs := refPattern.FindAllStringSubmatch(page, -1)
	want := []string{"graphiql.min.", "playground.", "security.", "react.production.min.", "react-dom.production.min.", "graphiql.min.", "playground.", "qrcode.", "security."}
	var assets []string
	for _, m := range refs {
		if strings.HasPrefix(m[1], "data:") {
			continue
		}
		assets = append(assets, m[1])
	}
	if len(assets) != len(want) {
		t.Fatalf("page refers to %v", assets)
	}
	for _, ref := range assets {
		if !regexp.MustCompile(`^/assets/[a-z.-]+\.[0-9a-f]{12}\.(js|css)$`).MatchString(ref) {
			t.Errorf("asset URL %q is not a hashed /assets/ name", ref)
		}
	}
}

// TestAssets: hashed names are served with a year-long immutable cache, compressed when the
// client accepts gzip; anything else under /assets/ is 404.
func TestAssets(t *testing.T) {
	h := Handler("/query")
	c := loadCatalog()
	for plain, url := range c.url {
		resp := get(t, h, url, nil)
		raw := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", url, resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s Cache-Control = %q", url, got)
		}
		wantType := map[bool]string{true: "text/javascript; charset=utf-8", false: "text/css; charset=utf-8"}[strings.HasSuffix(plain, ".js")]
		if got := resp.Header.Get("Content-Type"); got != wantType {
			t.Errorf("%s Content-Type = %q, want %q", url, got, wantType)
		}
		want, _ := files.ReadFile("assets/" + plain)
		if raw != string(want) {
			t.Errorf("%s: body differs from the embedded file", url)
		}

		gz := get(t, h, url, http.Header{"Accept-Encoding": {"br, gzip"}})
		if gz.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not compressed for a gzip client", url)
			continue
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if !bytes.Equal(unzipped, want) {
			t.Errorf("%s: gzip body differs", url)
		}
		if etag := gz.Header.Get("ETag"); etag == "" {
			t.Errorf("%s: no ETag", url)
		} else if notMod := get(t, h, url, http.Header{"Accept-Encoding": {"gzip"}, "If-None-Match": {etag}}); notMod.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match = %d, want 304", url, notMod.StatusCode)
		}
	}
	for _, path := range []string{"/assets/playground.js", "/assets/graphiql.min.js", "/assets/", "/assets/../web.go", "/elsewhere"} {
		if resp := get(t, h, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                  false,
		"gzip":              true,
		"GZIP":              true,
		"br, gzip;q=0.5":    true,
		"gzip;q=0":          false,
		"gzip; q=0.000":     false,
		"deflate, identity": false,
		"x-gzip-not-really": false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
