package main

import (
	"errors"
	"fmt"
	"io"
)

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err as one line and returns the exit code: 2 for configuration and usage
// errors, the exitError's code, otherwise 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "error: "+firstLine(err))
	var ce *configError
	var ee *exitError
	switch {
	case errors.As(err, &ce):
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}
