package passkey_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/passkey/passkeytest"
)

// checkFinishError: whatever a client sends, the adapter answers a verified credential or one
// of the two typed refusals; never a panic, never another error.
func checkFinishError(t *testing.T, err error) {
	if err != nil && !errors.Is(err, auth.ErrPasskeyMalformed) && !errors.Is(err, auth.ErrPasskeyRejected) {
		t.Fatalf("untyped error: %v", err)
	}
}

// FuzzFinishLogin feeds arbitrary sign-in responses (seeded with a valid one and some broken
// ones) to FinishLogin.
func FuzzFinishLogin(f *testing.F) {
	a := newAdapter(f)
	auth0 := passkeytest.New(origin)
	handle := bytes.Repeat([]byte{7}, 32)
	user := auth.PasskeyUser{Handle: handle, Name: "fuzz@example.com"}
	regOpts, regState, err := a.BeginRegistration(user)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := auth0.Create(regOpts)
	if err != nil {
		f.Fatal(err)
	}
	np, err := a.FinishRegistration(user, regState, resp)
	if err != nil {
		f.Fatal(err)
	}
	owner := func(id, _ []byte) (auth.PasskeyUser, error) {
		if !bytes.Equal(id, np.CredentialID) {
			return auth.PasskeyUser{}, auth.ErrPasskeyRejected
		}
		return auth.PasskeyUser{Handle: handle, Passkeys: []auth.Passkey{{ID: "p", CredentialID: np.CredentialID, Record: np.Record, Transports: np.Transports}}}, nil
	}
	options, state, err := a.BeginLogin(nil)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := auth0.Get(options)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := a.FinishLogin(state, valid, owner); err != nil {
		f.Fatalf("the valid seed does not verify: %v", err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, response []byte) {
		_, err := a.FinishLogin(state, response, owner)
		checkFinishError(t, err)
	})
}

// FuzzFinishRegistration feeds arbitrary registration responses to FinishRegistration.
func FuzzFinishRegistration(f *testing.F) {
	a := newAdapter(f)
	user := auth.PasskeyUser{Handle: bytes.Repeat([]byte{9}, 32), Name: "fuzz@example.com"}
	options, state, err := a.BeginRegistration(user)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := passkeytest.New(origin).Create(options)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := a.FinishRegistration(user, state, valid); err != nil {
		f.Fatalf("the valid seed does not verify: %v", err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Add([]byte(`{"type":"public-key","response":{"attestationObject":"` + string(bytes.Repeat([]byte("n"), 100)) + `"}}`))
	f.Fuzz(func(t *testing.T, response []byte) {
		_, err := a.FinishRegistration(user, state, response)
		checkFinishError(t, err)
	})
}
