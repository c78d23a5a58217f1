package tokenrules

import (
	"strings"
	"testing"
)

// Run it for a while with: go test ./internal/tokenrules -run '^$' -fuzz FuzzParseBearer -fuzztime 60s

func fzIsToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/=", c) >= 0
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def.ghi", "bearer abc", "BEARER abc", "Bearer  abc", " Bearer abc ", "Bearer",
		"Bearer ", "Basic dXNlcjpwYXNz", "Bearer a,b", "Bearer a b", "Bearer\tabc", "Bearer abc==",
		"Bearer " + strings.Repeat("a", 8<<10), "Bearer " + strings.Repeat("a", 8<<10+1), "Bearer é",
		"Bearer a\x00b", "Bearer a\r\nX-Injected: 1", "Bearer\u00a0abc", "Bearer abc\u00a0", "",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Bearerabc", "Bearer ~+/=-._",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := ParseBearer(h)
		if !ok {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", h, tok)
			}
		} else {
			if tok == "" || len(tok) > MaxTokenBytes {
				t.Fatalf("accepted a token of %d bytes from %q", len(tok), h)
			}
			for i := 0; i < len(tok); i++ {
				if !fzIsToken68Char(tok[i]) {
					t.Fatalf("accepted token %q has a non-token68 byte %q", tok, tok[i])
				}
			}
			trimmed := strings.TrimSpace(h)
			if len(trimmed) < len("Bearer ")+len(tok) || !strings.EqualFold(trimmed[:6], "Bearer") ||
				trimmed[6] != ' ' || !strings.HasSuffix(trimmed, tok) ||
				strings.Trim(trimmed[6:len(trimmed)-len(tok)], " ") != "" {
				t.Fatalf("accepted %q from %q, which is not `Bearer <token>`", tok, h)
			}
			if again, ok := ParseBearer("Bearer " + tok); !ok || again != tok {
				t.Fatalf("round trip of %q gave %q, %v", tok, again, ok)
			}
		}
		// Every non-empty run of token68 characters up to the limit is accepted, whatever the
		// case of the scheme.
		if h != "" && len(h) <= MaxTokenBytes {
			all := true
			for i := 0; i < len(h); i++ {
				all = all && fzIsToken68Char(h[i])
			}
			if all {
				if got, ok := ParseBearer("bEaReR " + h); !ok || got != h {
					t.Fatalf("token68 %q refused: %q, %v", h, got, ok)
				}
			}
		}
	})
}
