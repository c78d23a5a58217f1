package auth

import (
	"slices"
	"strings"
	"time"
)

// Authentication method references (RFC 8176) that this service puts in the amr claim.
const (
	AMRPassword    = "pwd"  // a password
	AMROTP         = "otp"  // a one-time code (TOTP or a recovery code)
	AMRHardwareKey = "hwk"  // a proof of possession of a hardware-bound key (a passkey)
	AMRUser        = "user" // user presence and verification on the authenticator
	AMRMFA         = "mfa"  // more than one factor was used
)

// PasswordSignIn is the amr of a sign-in by password alone.
func PasswordSignIn() []string { return []string{AMRPassword} }

// HasMFA reports whether amr records a sign-in with more than one factor.
func HasMFA(amr []string) bool { return slices.Contains(amr, AMRMFA) }

// RecentSignIn is how long after a sign-in a session may change the account's credentials
// (add or remove a factor, a passkey or an API key): a stolen access token older than this
// cannot enrol the thief's own factor.
const RecentSignIn = 10 * time.Minute

// EncodeAMR and DecodeAMR are the stores' form of an amr list: the methods separated by
// spaces (no method contains one).
func EncodeAMR(amr []string) string { return strings.Join(amr, " ") }

// DecodeAMR is the inverse of EncodeAMR; "" is no method.
func DecodeAMR(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}
