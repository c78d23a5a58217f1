package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/example/gqlauth/auth"
)

func apiKeysRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikeys revoke", flag.ContinueOnError)
	email := fs.String("user", "", "the email of the user whose API keys are revoked")
	if help, err := parseFlags(fs, "apikeys revoke --user E",
		"Revokes every API key of a user (a leaked key, a leaver): running servers refuse them within about a second. Sessions are not touched (sessions revoke ends those).",
		args, stdout, stderr); help || err != nil {
		return err
	}
	if *email == "" {
		return usageError("apikeys revoke needs --user")
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		u, err := findUser(ctx, svc, *email)
		if err != nil {
			return err
		}
		ids, err := svc.RevokeUserAPIKeys(ctx, u.ID)
		if err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "%s (%s): %d API keys revoked\n", u.Email, u.ID, len(ids))
		return nil
	})
}
