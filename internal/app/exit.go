package app

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/example/gqlauth/internal/cli"
	"github.com/example/gqlauth/internal/config"
)

// ExitCode prints err as one line and returns the exit code: 2 for configuration and usage
// errors, the cli.ExitError's code, otherwise 1.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "error: "+firstLine(err))
	var ce *config.Error
	var ee *cli.ExitError
	switch {
	case errors.As(err, &ce):
		return 2
	case errors.As(err, &ee):
		return ee.Code
	}
	return 1
}

// firstLine makes sure an error prints as one line.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
