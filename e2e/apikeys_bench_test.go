package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkMeCredential is `me` through the real handler with a JWT beside `me` with an API
// key: a key is checked from the in-memory key cache, so it should cost about what a JWT does
// (the target is at least 0.8 of the JWT's rate). Compare the two ns/op:
//
//	go test -run '^$' -bench MeCredential -benchtime 3s .
func BenchmarkMeCredential(b *testing.B) {
	a := benchApp(b)
	p := benchRegister(b, a.Handler())
	rec := serveOnce(a.Handler(), p.AccessToken, `{"query":"mutation { createApiKey(name:\"bench\") { secret } }"}`)
	var out struct {
		Data struct {
			CreateAPIKey struct{ Secret string } `json:"createApiKey"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.CreateAPIKey.Secret == "" {
		b.Fatalf("createApiKey: %s", rec.Body.String())
	}
	const body = `{"query":"{ me { id email roles } }"}`
	for _, tc := range []struct{ name, token string }{{"jwt", p.AccessToken}, {"apikey", out.Data.CreateAPIKey.Secret}} {
		b.Run(tc.name, func(b *testing.B) {
			if rec := serveOnce(a.Handler(), tc.token, body); !bytes.Contains(rec.Body.Bytes(), []byte(`"email":"bench@example.com"`)) {
				b.Fatalf("me: %s", rec.Body.String())
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serveOnce(a.Handler(), tc.token, body)
				}
			})
		})
	}
}
