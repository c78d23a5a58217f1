package auth_test

import (
	"errors"
	"fmt"

	"github.com/example/gqlauth/auth"
)

// Login of an account with TOTP on answers *MFARequiredError after the right password: an
// adapter hands Token and Methods to the client, which finishes with VerifyMFA; that session's
// amr is MFASignIn's.
func ExampleMFARequiredError() {
	var err error = &auth.MFARequiredError{Token: "mfa_…", Methods: []string{auth.MethodTOTP, auth.MethodRecoveryCode}}
	var mfa *auth.MFARequiredError
	if errors.As(err, &mfa) {
		fmt.Println(mfa.Methods)
	}
	fmt.Println(auth.MFASignIn(), auth.HasMFA(auth.MFASignIn()), auth.HasMFA(auth.PasswordSignIn()))
	// Output:
	// [TOTP RECOVERY_CODE]
	// [pwd otp mfa] true false
}
