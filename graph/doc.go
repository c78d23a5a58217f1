// Package graph is the GraphQL adapter of the auth service: gqlgen's executable schema, the
// resolvers, the @auth directive, the error presenter, the limits on what one request may ask
// for, and the HTTP and WebSocket transports. [NewHandler] returns the whole endpoint as one
// http.Handler.
//
// # How the pieces fit
//
//   - The schema (the .graphqls files gqlgen.yml lists) is compiled by gqlgen (`go generate ./...`) into generated.go and model/; those files are
//     never edited by hand. Resolvers (*.resolvers.go) are a few lines each: they translate
//     between the generated models and package auth, which does the work.
//   - Identification happens before this package: the HTTP layer stores the verified claims (or
//     the reason there are none) in the request's context with auth.RequestContext. The @auth
//     directive then asks auth.Service.Authorize on every field that needs a caller, so a
//     disabled account, an ended session or a removed role is refused on the next request,
//     not when the token expires; public fields never look at the token.
//   - The error presenter is the one place where errors become the API's extensions: the
//     codes ([CodeUnauthenticated], [CodeForbidden], [CodeBadUserInput], [CodeRateLimited],
//     [CodeInternal]) with a reason, a field or a retry delay. An error it does not know is
//     logged with the request id and masked, so no internal detail reaches a client.
//   - Limits ([Limits]) refuse an expensive document before it runs: its size, lexical tokens,
//     depth, aliases and complexity. Parsed documents, persisted queries and the limits' own
//     verdicts are cached in caches bounded in bytes.
//   - Transports are explicit: JSON POST, GET for queries only, and WebSocket
//     (graphql-transport-ws) for the securityEvents subscription, whose connections are
//     authorised at connection_init and closed when their session ends. No form or multipart
//     POST exists, so a browser form cannot post a mutation.
//
// # Why an adapter
//
// Keeping the rules in package auth and only the translation here means the OAuth endpoints
// and the GraphQL API cannot disagree about who may do what; this package can be tested
// through its handler alone (see the package's tests and the example of NewHandler).
package graph
