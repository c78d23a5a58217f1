//go:build tools

// Package main pins the gqlgen generator in go.mod so `go generate ./...` runs the same version
// everywhere. It is package main because it lives beside server.go.
package main

import _ "github.com/99designs/gqlgen"
