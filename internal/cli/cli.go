// Package cli holds the administrator's commands (`gqlauth user …`, `sessions …`, `keys …`):
// they work on the database the configuration names, through the auth service.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/config"
)

const usage = `usage:
  gqlauth                                   serve (configuration from the environment)
  gqlauth user create --email E [--role ADMIN] --password-stdin
  gqlauth user set-role --email E --role ADMIN[,USER]
  gqlauth user disable --email E
  gqlauth user enable --email E
  gqlauth user reset-mfa --email E
  gqlauth sessions revoke --user E
  gqlauth keys generate --alg EdDSA|ES256|RS256 [--out FILE]
  gqlauth apikeys revoke --user E
  gqlauth clients create --name N [--scope S]...
  gqlauth clients list
  gqlauth clients revoke --id ID
  gqlauth version                           version, commit and Go version, on one line

Commands work on the database DATABASE_URL names (SQLite in DATA_DIR by default), also while
servers run on it: they take effect there within about a second. Each takes --help.
Exit codes: 0 done, 1 failed (an unknown user, a taken email, the database), 2 bad usage.
`

// Run runs a subcommand against the database DATABASE_URL names (or DATA_DIR's SQLite).
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch {
	case len(args) >= 2 && args[0] == "user" && args[1] == "create":
		return userCreate(ctx, args[2:], getenv, stdin, stdout, stderr)
	case len(args) >= 2 && args[0] == "user" && adminCommands["user "+args[1]] != nil:
		return adminCommands["user "+args[1]](ctx, args[2:], getenv, stdout, stderr)
	case len(args) >= 2 && args[0] == "sessions" && adminCommands["sessions "+args[1]] != nil:
		return adminCommands["sessions "+args[1]](ctx, args[2:], getenv, stdout, stderr)
	case len(args) >= 2 && args[0] == "apikeys" && args[1] == "revoke":
		return apiKeysRevoke(ctx, args[2:], getenv, stdout, stderr)
	case len(args) >= 2 && args[0] == "clients" && clientCommands["clients "+args[1]] != nil:
		return clientCommands["clients "+args[1]](ctx, args[2:], getenv, stdout, stderr)
	case len(args) >= 2 && args[0] == "keys" && args[1] == "generate":
		return keysGenerate(args[2:], stdout, stderr)
	case len(args) == 1 && (args[0] == "version" || args[0] == "--version"):
		return version(ctx, stdout)
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &ExitError{Code: 2, Err: fmt.Errorf("unknown command %q", strings.Join(args, " "))}
}

// rolesFlag collects --role, repeated or comma-separated.
type rolesFlag []auth.Role

func (r *rolesFlag) String() string { return fmt.Sprint(*r) }
func (r *rolesFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		role := auth.Role(strings.ToUpper(strings.TrimSpace(s)))
		if !role.Valid() {
			return fmt.Errorf("unknown role %q (USER or ADMIN)", s)
		}
		*r = append(*r, role)
	}
	return nil
}

func userCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the account's email")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	var roles rolesFlag
	fs.Var(&roles, "role", "USER or ADMIN (repeatable); an ADMIN also holds USER")
	if help, err := parseFlags(fs, "user create --email E [--role ADMIN] --password-stdin",
		"Creates an account and prints its id.", args, stdout, stderr); help || err != nil {
		return err
	}
	if *email == "" || !*fromStdin {
		return &ExitError{Code: 2, Err: errors.New("user create needs --email and --password-stdin")}
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return &ExitError{Code: 2, Err: fmt.Errorf("read password: %w", err)}
	}
	password = strings.TrimSuffix(strings.TrimSuffix(password, "\n"), "\r")

	if roles == nil {
		roles = rolesFlag{auth.RoleUser}
	}
	if !roles.has(auth.RoleUser) {
		roles = append(rolesFlag{auth.RoleUser}, roles...)
	}
	return withService(ctx, getenv, stderr, true, func(ctx context.Context, svc *auth.Service) error {
		u, err := svc.CreateUser(ctx, *email, password, roles)
		var input *auth.InputError
		if errors.As(err, &input) {
			return failure(err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, u.ID)
		return nil
	})
}

func (r rolesFlag) has(role auth.Role) bool {
	for _, x := range r {
		if x == role {
			return true
		}
	}
	return false
}

func keysGenerate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("alg", auth.AlgEdDSA, "EdDSA, ES256 or RS256")
	out := fs.String("out", "", "write the PEM private key to this file (mode 0600) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	pemBytes, err := auth.GeneratePrivateKeyPEM(*alg)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if *out == "" {
		_, err = stdout.Write(pemBytes)
		return err
	}
	if err := config.WriteSecretFile(*out, pemBytes); err != nil {
		return err
	}
	k, err := auth.ParsePrivateKeyPEM(*alg, pemBytes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (kid %s)\n", *out, k.KID)
	return nil
}

// ExitError carries a process exit code: 2 for a mistake in the command line, 1 for an
// operational failure (an unknown user, a taken email, the database).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }
