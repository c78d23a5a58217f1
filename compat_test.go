package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/app"
	cfgpkg "github.com/example/gqlauth/internal/config"
)

// The end-to-end tests below still live in the root package while they move to e2e/; these
// names give them the program they drove when it lived here.

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return app.Exec(ctx, args, getenv, stdin, stdout, stderr)
}

func exitCode(err error, w io.Writer) int { return app.ExitCode(err, w) }

type config = cfgpkg.Config

func loadConfig(getenv func(string) string) (config, error) { return cfgpkg.Load(getenv) }

func build(ctx context.Context, cfg config, log *slog.Logger) (*app.App, error) {
	return app.New(ctx, cfg, log)
}

var generatePrivateKeyPEM = auth.GeneratePrivateKeyPEM

const (
	refreshCookieName = app.RefreshCookieName
	deviceCookieName  = app.DeviceCookieName
)
