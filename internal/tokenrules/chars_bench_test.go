package tokenrules

import (
	"strings"
	"testing"
)

// Every authenticated request reads its bearer token twice: ParseBearer (token68) and Shape (a
// JWS's base64url and dots). An access token is about 500 bytes.
func BenchmarkBearerAndShape(b *testing.B) {
	tok := strings.Repeat("eyJhbGciOiJIUzI1NiIsImtpZCI6InROQmdoVlBHZ29", 4) + "." + strings.Repeat("eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjE4MDkyIiwic3ViIjoi", 7) + "." + "AOM8mrUj0OLCWT3wtMWz1zRPYvxVzHn19uR1oo-vS9Q"
	h := "Bearer " + tok
	for b.Loop() {
		t, ok := ParseBearer(h)
		if !ok || Shape(t) != nil {
			b.Fatal("refused")
		}
	}
}
