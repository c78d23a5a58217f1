package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/example/gqlauth/auth"
)

func apiKeysRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := oneFlag{name: "apikeys revoke", flag: "user", meta: "E", usage: "the email of the user whose API keys are revoked",
		summary: "Revokes every API key of a user (a leaked key, a leaver): running servers refuse them within about a second. Sessions are not touched (sessions revoke ends those)."}
	return cmd.onUser(ctx, args, getenv, stdout, stderr, func(ctx context.Context, svc *auth.Service, u auth.User) error {
		ids, err := svc.RevokeUserAPIKeys(ctx, u.ID)
		if err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "%s (%s): %d API keys revoked\n", u.Email, u.ID, len(ids))
		return nil
	})
}
