# The everyday commands. Each target is a thin name for a script or tool the repository already
# has, so CI (.ci/run) and a developer run the same thing.

# The linter's version is pinned here and in .ci/run; `make lint` installs it from the Go module
# proxy when the one on PATH is missing or another version.
GOLANGCI_LINT_VERSION := v2.15.0
GOBIN := $(shell go env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN)/golangci-lint

.PHONY: test lint generate bench lint-install

# test: every test, as the README says (Go suites with -race, then the real-client tests).
test:
	./test.sh

# lint: golangci-lint with .golangci.yml (staticcheck, revive, unused, errcheck, gosec, ...).
lint: lint-install
	$(GOLANGCI_LINT) run ./...

lint-install:
	@if ! $(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)"; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION)"; \
		go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

# generate: gqlgen's code from the schema (commit the result).
generate:
	go generate ./...

# bench: the Go benchmarks of the hot paths (bench.sh; LABEL names the output file).
LABEL ?= run
bench:
	./bench.sh $(LABEL)
