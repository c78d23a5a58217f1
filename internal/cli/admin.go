package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/stores"
)

// An administrator's commands. They go through the auth service like the API does, so they
// write the change log (which running servers poll: a change applies there within about a
// second) and the audit trail (actor "command line").

type command func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// adminCommands are dispatched by Run under "user …" and "sessions …".
var adminCommands = map[string]command{
	"user set-role": userSetRole,
	"user disable": func(ctx context.Context, a []string, g func(string) string, o, e io.Writer) error {
		return userSetDisabled(ctx, a, g, o, e, true)
	},
	"user enable": func(ctx context.Context, a []string, g func(string) string, o, e io.Writer) error {
		return userSetDisabled(ctx, a, g, o, e, false)
	},
	"user reset-mfa":  userResetMFA,
	"sessions revoke": sessionsRevoke,
}

// usageError is a mistake in the command line (exit code 2).
func usageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// failure is an operational error (exit code 1): an unknown user, a database error.
func failure(err error) error { return &ExitError{Code: 1, Err: err} }

// parseFlags parses a subcommand's flags. --help (or -h) prints the usage on stdout, and help
// is true: the command then does nothing and exits 0. A bad flag or a stray argument prints the
// usage on stderr and returns a usage error.
func parseFlags(fs *flag.FlagSet, synopsis, summary string, args []string, stdout, stderr io.Writer) (help bool, err error) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gqlauth %s\n\n%s\n\nflags:\n", synopsis, summary)
		fs.PrintDefaults()
	}
	fs.SetOutput(io.Discard) // the flag package would print errors and usage itself
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return true, nil
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fs.SetOutput(stderr)
		fs.Usage()
		return false, &ExitError{Code: 2, Err: err}
	}
	return false, nil
}

// withService opens the configured database and an auth service on it, runs fn, and closes
// both (storing the audit events fn caused). hashes says whether fn hashes passwords: only then
// does the service need the configured bcrypt cost and password policy.
func withService(ctx context.Context, getenv func(string) string, stderr io.Writer, hashes bool, fn func(ctx context.Context, svc *auth.Service) error) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, _, err := stores.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	svcCfg := auth.Config{Logger: log, BcryptCost: 4, // no hashing: the cheapest cost spares the hasher's set-up
		// Notices of what a command does (a second factor removed, say) are queued for a
		// server on the same database to deliver, when this deployment sends mail at all.
		Mail: auth.MailConfig{QueueOnly: cfg.SMTP != nil || !cfg.Production, LinkBase: cfg.MailLinkBase, Verification: cfg.EmailVerification},
	}
	if hashes {
		svcCfg.BcryptCost, svcCfg.Passwords = cfg.BcryptCost, auth.PasswordPolicy{MinLength: cfg.MinPasswordLength}
	}
	svc, err := auth.New(ctx, store, nil, svcCfg)
	if err != nil {
		return failure(err)
	}
	defer svc.Close()
	// The audit trail records these changes as made from the command line.
	ctx = auth.WithClient(ctx, auth.Client{UserAgent: "gqlauth command line"})
	if err := fn(ctx, svc); err != nil {
		return err
	}
	wakeServers(ctx, cfg, log)
	return nil
}

// wakeServers tells servers sharing Redis to read the change log now rather than at their next
// poll (PostgreSQL's NOTIFY needs nothing: the store sends it). Best effort: the poll is the
// guarantee.
func wakeServers(ctx context.Context, cfg config.Config, log *slog.Logger) {
	c, err := stores.OpenRedis(ctx, cfg, log)
	if err != nil || c == nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Publish(ctx); err != nil {
		log.Warn("could not announce the change through Redis; servers apply it at their next poll", "err", err)
	}
}

// findUser looks a user up by email: a malformed email is a usage error, an unknown one a
// failure.
func findUser(ctx context.Context, svc *auth.Service, email string) (auth.User, error) {
	u, err := svc.UserByEmail(ctx, email)
	var input *auth.InputError
	switch {
	case errors.As(err, &input):
		return auth.User{}, usageError("--email %q: %s", email, input.Message)
	case errors.Is(err, auth.ErrNotFound):
		return auth.User{}, failure(fmt.Errorf("no user with email %q", email))
	case err != nil:
		return auth.User{}, failure(err)
	}
	return u, nil
}

// oneFlag is a command that takes one required flag and nothing else: `name --flag meta`.
type oneFlag struct {
	name    string // the command, "sessions revoke"
	flag    string // the flag's name, without dashes
	meta    string // the flag's value in the synopsis
	usage   string // the flag's description
	summary string // what the command does, for --help
}

// parse reads the flag's value from args. done says the command has nothing more to do: --help
// was asked (err is nil), or the command line is wrong (err is a usage error, the flag missing
// among others).
func (c oneFlag) parse(args []string, stdout, stderr io.Writer) (value string, done bool, err error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	v := fs.String(c.flag, "", c.usage)
	if help, err := parseFlags(fs, c.name+" --"+c.flag+" "+c.meta, c.summary, args, stdout, stderr); help || err != nil {
		return "", true, err
	}
	if *v == "" {
		return "", true, usageError("%s needs --%s", c.name, c.flag)
	}
	return *v, false, nil
}

// onUser runs a command whose flag names one user by email: act gets that user (findUser's
// errors end the command first).
func (c oneFlag) onUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, act func(ctx context.Context, svc *auth.Service, u auth.User) error) error {
	email, done, err := c.parse(args, stdout, stderr)
	if done {
		return err
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		u, err := findUser(ctx, svc, email)
		if err != nil {
			return err
		}
		return act(ctx, svc, u)
	})
}

func userSetRole(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user set-role", flag.ContinueOnError)
	email := fs.String("email", "", "the account's email")
	var roles rolesFlag
	fs.Var(&roles, "role", "the new roles: USER or ADMIN, comma-separated or repeated; USER is always kept")
	if help, err := parseFlags(fs, "user set-role --email E --role ADMIN[,USER]",
		"Replaces a user's roles. Running servers apply the change to tokens already issued within about a second.",
		args, stdout, stderr); help || err != nil {
		return err
	}
	if *email == "" || len(roles) == 0 {
		return usageError("user set-role needs --email and --role")
	}
	if !roles.has(auth.RoleUser) {
		roles = append(rolesFlag{auth.RoleUser}, roles...)
	}
	return withService(ctx, getenv, stderr, false, func(ctx context.Context, svc *auth.Service) error {
		u, err := findUser(ctx, svc, *email)
		if err != nil {
			return err
		}
		u, err = svc.SetUserRoles(ctx, auth.Principal{}, u.ID, roles)
		if err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "%s (%s): roles %s\n", u.Email, u.ID, joinRoles(u.Roles))
		return nil
	})
}

func userSetDisabled(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, disable bool) error {
	cmd := oneFlag{name: "user enable", flag: "email", meta: "E", usage: "the account's email",
		summary: "Enables a disabled user again; they can sign in at once."}
	if disable {
		cmd.name, cmd.summary = "user disable", "Disables a user and ends every session of theirs: running servers refuse their access tokens within about a second, and they cannot sign in."
	}
	return cmd.onUser(ctx, args, getenv, stdout, stderr, func(ctx context.Context, svc *auth.Service, u auth.User) error {
		u, err := svc.SetUserDisabled(ctx, auth.Principal{}, u.ID, disable)
		if err != nil {
			return failure(err)
		}
		state := "enabled"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(stdout, "%s (%s): %s\n", u.Email, u.ID, state)
		return nil
	})
}

func sessionsRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := oneFlag{name: "sessions revoke", flag: "user", meta: "E", usage: "the email of the user whose sessions end",
		summary: "Ends every session of a user (a lost device, a leaver): their refresh tokens stop working, and running servers refuse their access tokens within about a second. The account stays enabled."}
	return cmd.onUser(ctx, args, getenv, stdout, stderr, func(ctx context.Context, svc *auth.Service, u auth.User) error {
		ids, err := svc.RevokeUserSessions(ctx, auth.Principal{}, u.ID)
		if err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "%s (%s): %d sessions ended\n", u.Email, u.ID, len(ids))
		return nil
	})
}

func userResetMFA(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := oneFlag{name: "user reset-mfa", flag: "email", meta: "E", usage: "the account's email",
		summary: "For a user who lost their second factor: turns TOTP off (its recovery codes and unfinished two-step sign-ins go too) and ends every session of theirs, in one transaction. They sign in with the password alone afterwards, and can enrol again. Audited as MFA_DISABLED."}
	return cmd.onUser(ctx, args, getenv, stdout, stderr, func(ctx context.Context, svc *auth.Service, u auth.User) error {
		if err := svc.ResetMFA(ctx, auth.Principal{}, u.ID); err != nil {
			return failure(err)
		}
		fmt.Fprintf(stdout, "%s (%s): second factors removed, every session ended\n", u.Email, u.ID)
		return nil
	})
}

func joinRoles(roles []auth.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
