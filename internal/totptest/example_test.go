package totptest_test

import (
	"fmt"

	"github.com/example/gqlauth/internal/totptest"
)

// RFC 6238 Appendix B: the SHA-1 secret "12345678901234567890" at T = 59 s (step 1) gives
// 94287082, whose last six digits are the 6-digit code.
func ExampleCode() {
	fmt.Println(totptest.Code([]byte("12345678901234567890"), 59/30))
	// Output: 287082
}
