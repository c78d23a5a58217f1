package graph

import (
	"fmt"

	"github.com/example/gqlauth/auth"
)

// The resolvers that issue a refresh token (register, login, refresh, changePassword) also set
// it as the refresh cookie, and logout and logoutAll delete it, through refreshcookie.SetRefresh
// and refreshcookie.ClearRefresh: no-ops unless REFRESH_COOKIE=true put the holder in the
// request context (see internal/refreshcookie for the attributes and the CSRF rules). The
// sign-ins (register, login, changePassword) also set the device cookie through
// refreshcookie.SetDevice; no logout clears it.

// errRefreshCookieWithoutPreflight answers refresh(refreshToken: null) when the request has a
// refresh cookie but none of the headers that prove a CORS preflight (CSRF protection).
var errRefreshCookieWithoutPreflight = fmt.Errorf(
	"%w: the refresh cookie is read only from requests with an X-Requested-With or Apollo-Require-Preflight header",
	auth.ErrRefreshTokenInvalid)
