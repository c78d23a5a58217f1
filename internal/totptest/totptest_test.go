package totptest_test

import (
	"testing"

	"github.com/example/gqlauth/internal/totptest"
)

// The RFC's own test vector (Appendix B, SHA-1, truncated to 6 digits): Code is
// right, so the tests that use it can fail for the right reasons.
func TestRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		if got := totptest.Code(secret, v.unix/30); got != v.want {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.want)
		}
	}
}
