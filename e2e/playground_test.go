package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestPlayground: GraphiQL is served from the binary at / in development, with its assets
// under /assets/ and a strict CSP; production turns it off unless PLAYGROUND=true.
func TestPlayground(t *testing.T) {
	fetch := func(t *testing.T, url string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	assetRef := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

	t.Run("development", func(t *testing.T) {
		s := startServer(t, nil)
		resp, page := fetch(t, s.URL+"/")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(page, "cdn.") || strings.Contains(page, "https://") {
			t.Errorf("the page loads something from elsewhere")
		}
		refs := assetRef.FindAllStringSubmatch(page, -1)
		if len(refs) < 6 {
			t.Fatalf("page refers to %d assets", len(refs))
		}
		for _, m := range refs {
			resp, body := fetch(t, s.URL+m[1])
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Errorf("GET %s = %d", m[1], resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("GET %s Cache-Control %q", m[1], cc)
			}
		}
		if resp, _ := fetch(t, s.URL+"/assets/nope.js"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown asset: %d", resp.StatusCode)
		}
		if !strings.Contains(page, `data-source="/dev/mailbox"`) {
			t.Errorf("the development playground lacks the Mailbox panel")
		}
		if resp, _ := fetch(t, s.URL+"/nope"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nope = %d", resp.StatusCode)
		}
	})

	prod := map[string]string{"APP_ENV": "production", "JWT_SECRET": "Kq8vJ2mZ4rT7wX1yB5nC9dF3gH6jL0pS"}
	t.Run("production", func(t *testing.T) {
		s := startServer(t, prod)
		for _, path := range []string{"/", "/assets/"} {
			if resp, _ := fetch(t, s.URL+path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404 in production", path, resp.StatusCode)
			}
		}
		// The pages behind the links in mails are the product's: served in production, with
		// their own assets, while GraphiQL's stay away.
		for _, path := range []string{"/verify-email", "/reset-password", "/confirm-email-change"} {
			resp, page := fetch(t, s.URL+path)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" ||
				resp.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("GET %s = %d %v", path, resp.StatusCode, resp.Header)
			}
			refs := assetRef.FindAllStringSubmatch(page, -1)
			if len(refs) != 2 {
				t.Fatalf("%s refers to %d assets", path, len(refs))
			}
			for _, m := range refs {
				if resp, _ := fetch(t, s.URL+m[1]); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s = %d in production", m[1], resp.StatusCode)
				}
			}
		}
		dev := startServer(t, nil)
		_, playground := fetch(t, dev.URL+"/")
		for _, m := range assetRef.FindAllStringSubmatch(playground, -1) {
			if resp, _ := fetch(t, s.URL+m[1]); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d in production, want 404 (a playground file)", m[1], resp.StatusCode)
			}
		}
	})

	t.Run("production with PLAYGROUND=true", func(t *testing.T) {
		env := map[string]string{"PLAYGROUND": "true"}
		for k, v := range prod {
			env[k] = v
		}
		s := startServer(t, env)
		if resp, _ := fetch(t, s.URL+"/"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET / = %d, want 200", resp.StatusCode)
		}
		if _, page := fetch(t, s.URL+"/"); strings.Contains(page, "mailbox") {
			t.Errorf("the production playground offers the development mailbox")
		}
	})
}
