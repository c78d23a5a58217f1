package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/example/gqlauth/auth"
)

// The `clients` commands register, list and revoke the OAuth clients of other services.
var clientCommands = map[string]command{
	"clients create": clientsCreate,
	"clients list":   clientsList,
	"clients revoke": clientsRevoke,
}

// stringsFlag collects a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, " ") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func clientsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clients create", flag.ContinueOnError)
	name := fs.String("name", "", "what the client is (shown by clients list)")
	var scopes stringsFlag
	fs.Var(&scopes, "scope", "a scope the client may ask for (repeatable)")
	if help, err := parseFlags(fs, "clients create --name N [--scope S]...",
		"Registers an OAuth client for another service and prints its client_id and client_secret. The secret is shown only this once; only its hash is stored.",
		args, stdout, stderr); help || err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError("clients create needs --name")
	}
	var input *auth.InputError
	if _, _, err := auth.ValidateClient(*name, scopes); errors.As(err, &input) {
		return usageError("--%s: %s", input.Field, input.Message) // before any database is opened
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		nc, err := svc.CreateClient(ctx, *name, scopes)
		if errors.As(err, &input) {
			return usageError("--%s: %s", input.Field, input.Message)
		}
		if err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "client_id: %s\nclient_secret: %s\n", nc.Client.ID, nc.Secret)
		return nil
	})
}

func clientsList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clients list", flag.ContinueOnError)
	if help, err := parseFlags(fs, "clients list",
		"Lists the OAuth clients, oldest first: id, name, scopes, created, revoked; never secrets.",
		args, stdout, stderr); help || err != nil {
		return err
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		cs, err := svc.Clients(ctx)
		if err != nil {
			return failure(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, c := range cs {
			revoked := "-"
			if c.Revoked() {
				revoked = c.RevokedAt.Format(time.RFC3339)
			}
			scopes := strings.Join(c.Scopes, " ")
			if scopes == "" {
				scopes = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, oneLine(c.Name), scopes, c.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	})
}

func clientsRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := oneFlag{name: "clients revoke", flag: "id", meta: "ID", usage: "the client_id to revoke",
		summary: "Revokes an OAuth client: its credentials stop working at once, and its access tokens are refused by every server (within about a second) and by introspection (at once)."}
	id, done, err := cmd.parse(args, stdout, stderr)
	if done {
		return err
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		revoked, err := svc.RevokeClient(ctx, id)
		switch {
		case errors.Is(err, auth.ErrNotFound):
			return failure(fmt.Errorf("no client with id %q", id))
		case err != nil:
			return failure(err)
		case revoked:
			fmt.Fprintf(stdout, "%s: revoked\n", id)
		default:
			fmt.Fprintf(stdout, "%s: already revoked\n", id)
		}
		return nil
	})
}

// oneLine keeps a name from breaking the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}
