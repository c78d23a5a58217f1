package smtp

import (
	"strings"
	"testing"
	"unicode"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		in   string
		want Config
	}{
		{"smtp://mail.example.com", Config{Host: "mail.example.com", Port: 587, Auth: AuthPlain, TLS: TLSOpportunistic}},
		{"smtp://u%40x:p%3Aw@127.0.0.1:2525?tls=required", Config{Host: "127.0.0.1", Port: 2525, Username: "u@x", Password: "p:w", Auth: AuthPlain, TLS: TLSRequired}},
		{"smtps://u:p@[2001:db8::1]", Config{Host: "2001:db8::1", Port: 465, Username: "u", Password: "p", Auth: AuthPlain, TLS: TLSImplicit}},
		{"SMTP://h:25?auth=LOGIN&tls=opportunistic", Config{Host: "h", Port: 25, Auth: AuthLogin, TLS: TLSOpportunistic}},
		{"smtp://h:25/", Config{Host: "h", Port: 25, Auth: AuthPlain}},
	}
	for _, tc := range good {
		got, err := ParseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"", "mail.example.com:25", "http://h:25", "smtp://", "smtp://:25", "smtp://h:0", "smtp://h:65536",
		"smtp://h:x", "smtp://h:", "smtp://h/path", "smtp://h#frag", "smtps://h?tls=required",
		"smtp://h?tls=maybe", "smtp://h?auth=cram-md5", "smtp://h?tls=required&tls=required", "smtp://h?x=1",
		"smtp://:pw@h", "smtp://h h:25", "smtp://h\n:25", "smtp:opaque", "smtp://h%2F:25",
		"smtp://" + strings.Repeat("a", 3000),
	}
	for _, in := range bad {
		if c, err := ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", in, c)
		}
	}
	c, _ := ParseURL("smtp://user:secret@h:25?tls=required")
	if s := c.String(); strings.Contains(s, "secret") || s != "smtp://user@h:25?tls=required" {
		t.Errorf("String() = %q", s)
	}
}

// FuzzParseURL: any input parses to a usable configuration or to an error, never a panic; a
// parsed host has no whitespace or control characters, the port is in range, and the
// configuration's own (password-less) form parses back to the same host, port and TLS mode.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"smtp://h:25", "smtps://u:p@[::1]:465", "smtp://u%00:p@h?tls=required&auth=login",
		"smtp://h:25/?tls=", "smtp://%zz@h", "smtp://[fe80::1%25eth0]:25", "smtp://h:25#", "smtps://h?auth=plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseURL(in)
		if err != nil {
			return
		}
		if c.Host == "" || c.Port < 1 || c.Port > 65535 || strings.ContainsFunc(c.Host, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r)
		}) {
			t.Fatalf("ParseURL(%q) = %+v", in, c)
		}
		back, err := ParseURL(c.String())
		if err != nil || back.Host != c.Host || back.Port != c.Port || back.TLS != c.TLS {
			t.Fatalf("%q → %+v → %q → %+v, %v", in, c, c.String(), back, err)
		}
	})
}
