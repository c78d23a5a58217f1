package oauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/example/gqlauth/auth"
)

// FuzzParseBasic: any Authorization value parses without panicking; what it accepts has a
// non-empty id, bounded parts, and is exactly what the header encodes (re-encoding the result
// and parsing again gives the same credentials).
func FuzzParseBasic(f *testing.F) {
	enc := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []string{
		enc("cl_abc:cs_def"), enc("cl_a%3Ab:c%20d"), enc(":secret"), enc("id"), enc("id:"), enc("%zz:x"),
		"Basic", "Basic ", "basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), "Basic ====", "Basic YQ",
		"Bearer abc", "Basic " + strings.Repeat("A", 1000), "  Basic   YTpi  ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := parseBasic(h)
		if err != nil {
			return
		}
		if c.ID == "" || len(c.ID) > auth.MaxClientCredentialBytes || len(c.Secret) > auth.MaxClientCredentialBytes || c.Method != "client_secret_basic" {
			t.Fatalf("accepted %q as %+v", h, c)
		}
		again, err := parseBasic(enc(url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret)))
		if err != nil || again.ID != c.ID || again.Secret != c.Secret {
			if utf8.ValidString(c.ID) {
				t.Fatalf("%q → %+v, re-encoded → %+v, %v", h, c, again, err)
			}
		}
	})
}
