package passkey

import (
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
)

// knownAuthenticators names common passkey providers by their AAGUID (the authenticator model
// id in the registration), as the community list passkey-authenticator-aaguids does. An
// authenticator not listed here is named after how it is attached (suggestName).
var knownAuthenticators = map[uuid.UUID]string{
	uuid.MustParse("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"): "Google Password Manager",
	uuid.MustParse("adce0002-35bc-c60a-648b-0b25f1f05503"): "Chrome on Mac",
	uuid.MustParse("fbfc3007-154e-4ecc-8c0b-6e020557d7bd"): "iCloud Keychain",
	uuid.MustParse("dd4ec289-e01d-41c9-bb89-70fa845d4bf2"): "iCloud Keychain (Managed)",
	uuid.MustParse("08987058-cadc-4b81-b6e1-30de50dcbe96"): "Windows Hello",
	uuid.MustParse("9ddd1817-af5a-4672-a2b9-3e3dd95000a9"): "Windows Hello",
	uuid.MustParse("6028b017-b1d4-4c02-b4b3-afcdafc96bb2"): "Windows Hello",
	uuid.MustParse("bada5566-a7aa-401f-bd96-45619a55120d"): "1Password",
	uuid.MustParse("d548826e-79b4-db40-a3d8-11116f7e8349"): "Bitwarden",
	uuid.MustParse("531126d6-e717-415c-9320-3d9aa6981239"): "Dashlane",
	uuid.MustParse("53414d53-554e-4700-0000-000000000000"): "Samsung Pass",
	uuid.MustParse("fdb141b2-5d84-443e-8a35-4698c205a502"): "KeePassXC",
	uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8"): "YubiKey 5",
	uuid.MustParse("ee882879-721c-4913-9775-3dfcce97072a"): "YubiKey 5",
}

// suggestName names a new passkey after its authenticator: the provider when its AAGUID is
// known, otherwise what kind of authenticator it is.
func suggestName(aaguid []byte, attachment protocol.AuthenticatorAttachment, transports []protocol.AuthenticatorTransport) string {
	if id, err := uuid.FromBytes(aaguid); err == nil {
		if name, ok := knownAuthenticators[id]; ok {
			return name
		}
	}
	switch {
	case attachment == protocol.Platform || slices.Contains(transports, protocol.Internal):
		return "Passkey on this device"
	case attachment == protocol.CrossPlatform && slices.Contains(transports, protocol.Hybrid):
		return "Passkey on a phone"
	case attachment == protocol.CrossPlatform:
		return "Security key"
	}
	return "Passkey"
}
