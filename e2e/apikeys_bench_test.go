package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkMeCredential is `me` through the real handler with a JWT beside `me` with an API
// key: a key is checked from the in-memory key cache, so it should cost about what a JWT does
// (the target is at least 0.8 of the JWT's rate). The interleaved run reports the ratio:
//
//	go test -run '^$' -bench MeCredential/interleaved -benchtime 20000x -count 3 ./e2e/
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
	jwtToken, key := p.AccessToken, out.Data.CreateAPIKey.Secret
	// interleaved alternates the two in one loop, so that a machine shared with other work
	// slows both alike; rate-ratio is the API key's request rate over the JWT's.
	b.Run("interleaved", func(b *testing.B) {
		var jwtTime, keyTime time.Duration
		for b.Loop() {
			t0 := time.Now()
			serveOnce(a.Handler(), jwtToken, body)
			t1 := time.Now()
			serveOnce(a.Handler(), key, body)
			jwtTime += t1.Sub(t0)
			keyTime += time.Since(t1)
		}
		b.ReportMetric(float64(jwtTime)/float64(keyTime), "rate-ratio")
		b.ReportMetric(float64(jwtTime.Nanoseconds())/float64(b.N), "jwt-ns/op")
		b.ReportMetric(float64(keyTime.Nanoseconds())/float64(b.N), "apikey-ns/op")
	})
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
