package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
	"github.com/example/gqlauth/internal/reqmeta"
)

// Error codes of extensions.code (docs/api.md, Errors).
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeRateLimited     = "RATE_LIMITED"
	CodeMFARequired     = "MFA_REQUIRED"
	CodeUnavailable     = "UNAVAILABLE"
	CodeInternal        = "INTERNAL_SERVER_ERROR"
)

// unauthenticatedReasons maps auth's refusals to the API's reasons.
var unauthenticatedReasons = []struct {
	err    error
	reason string
}{
	{auth.ErrTokenMissing, "TOKEN_MISSING"},
	{auth.ErrTokenExpired, "TOKEN_EXPIRED"},
	{auth.ErrTokenRevoked, "TOKEN_REVOKED"},
	{auth.ErrTokenInvalid, "TOKEN_INVALID"},
	{auth.ErrInvalidCredentials, "INVALID_CREDENTIALS"},
	{auth.ErrRefreshTokenReused, "REFRESH_TOKEN_REUSED"},
	{auth.ErrRefreshTokenInvalid, "REFRESH_TOKEN_INVALID"},
	{auth.ErrAccountDisabled, "ACCOUNT_DISABLED"},
	{auth.ErrMFACodeInvalid, "MFA_CODE_INVALID"},
	{auth.ErrMFATokenInvalid, "MFA_TOKEN_INVALID"},
}

// errorPresenter is the one place where errors become the API's extensions. Errors gqlgen
// made itself (parse, validation) pass through; auth's errors get their code and reason;
// anything else is logged and masked as INTERNAL_SERVER_ERROR with the request id. In
// production no message suggests names: every error passes here, whichever rule, coercion or
// transport made it.
func errorPresenter(log *slog.Logger, production bool) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if production {
			// In place: gqlgen's WebSocket transport sends some errors as it made them, not as
			// presented, and this is the same *gqlerror.Error.
			gerr.Message = withoutSuggestion(gerr.Message)
		}
		cause := gerr.Unwrap()
		if cause == nil {
			return gerr // gqlgen's own: parse and validation errors carry their code already
		}
		ext := map[string]any{}
		var (
			forbidden *auth.ForbiddenError
			input     *auth.InputError
			limited   *auth.RateLimitedError
			mfa       *auth.MFARequiredError
			badJSON   *model.JSONInputError
		)
		switch {
		case errors.As(cause, &forbidden):
			ext["code"] = CodeForbidden
			if forbidden.Reason != "" {
				gerr.Message, ext["reason"] = forbidden.Error(), forbidden.Reason
			} else {
				gerr.Message, ext["requires"] = "you are not allowed to do this", string(forbidden.Requires)
			}
		case errors.As(cause, &input):
			gerr.Message = input.Message
			ext["code"] = CodeBadUserInput
			if input.Field != "" {
				ext["field"] = input.Field
			}
			if input.Reason != "" {
				ext["reason"] = input.Reason
			}
		case errors.As(cause, &mfa):
			gerr.Message = mfa.Error()
			ext["code"], ext["mfaToken"], ext["methods"] = CodeMFARequired, mfa.Token, mfa.Methods
		case errors.Is(cause, auth.ErrMailNotConfigured):
			gerr.Message = cause.Error()
			ext["code"], ext["reason"] = CodeUnavailable, "MAIL_NOT_CONFIGURED"
		case errors.As(cause, &limited):
			gerr.Message = limited.Error()
			ext["code"], ext["retryAfter"] = CodeRateLimited, limited.RetryAfterSeconds()
		case errors.As(cause, &badJSON):
			gerr.Message = "not a JSON object: " + badJSON.Reason
			ext["code"], ext["field"] = CodeBadUserInput, inputField(gerr)
		case errors.Is(cause, auth.ErrPasskeysOff):
			gerr.Message = cause.Error()
			ext["code"], ext["reason"] = CodeUnavailable, "PASSKEYS_NOT_CONFIGURED"
		case errors.Is(cause, auth.ErrBusy):
			gerr.Message = cause.Error()
			ext["code"], ext["retryAfter"] = CodeRateLimited, 1
		default:
			if reason := reasonOf(cause); reason != "" {
				gerr.Message = cause.Error()
				ext["code"], ext["reason"] = CodeUnauthenticated, reason
				break
			}
			id := reqmeta.ID(ctx)
			log.ErrorContext(ctx, "internal error", "request_id", id, "path", gerr.Path.String(), "err", cause)
			gerr.Message = "internal server error"
			ext["code"] = CodeInternal
			if id != "" {
				ext["requestId"] = id
			}
		}
		gerr.Extensions = ext
		gerr.Err = nil
		return gerr
	}
}

// inputField names the argument a coercion error is about: the last name in its path.
func inputField(e *gqlerror.Error) string {
	for i := len(e.Path) - 1; i >= 0; i-- {
		if name, ok := e.Path[i].(ast.PathName); ok {
			return string(name)
		}
	}
	return "credential"
}

func reasonOf(err error) string {
	for _, r := range unauthenticatedReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return ""
}

// recoverFunc turns a resolver panic into a masked internal error (logged with its value).
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", p)
		return errors.New("internal panic")
	}
}
