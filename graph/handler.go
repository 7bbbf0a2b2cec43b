package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes carried in extensions.code.
const (
	CodeBadUserInput = "BAD_USER_INPUT"
	CodeForbidden    = "FORBIDDEN"
	CodeInternal     = "INTERNAL_SERVER_ERROR"
)

// Limits on the queries the handler runs.
const (
	maxComplexity = 1000
	maxTokens     = 10000
)

// WebsocketAuth checks the token a WebSocket client sends in its
// connection_init payload and returns the context to run its subscriptions
// in.
type WebsocketAuth func(ctx context.Context, bearer string) (context.Context, error)

// NewHandler returns the GraphQL HTTP handler over resolver. For POST, the
// caller puts the authenticated principal in the request context first; a
// WebSocket client (GET with Upgrade) authenticates in connection_init
// with {"Authorization": "Bearer <access_token>"}, checked by wsAuth.
func NewHandler(resolver *Resolver, log *slog.Logger, wsAuth WebsocketAuth) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: resolver}))
	srv.AddTransport(transport.POST{})
	srv.AddTransport(&transport.Websocket{
		KeepAlivePingInterval: 15 * time.Second,
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			bearer := payload.Authorization()
			if bearer == "" {
				bearer, _ = payload["authorization"].(string)
			}
			token, ok := strings.CutPrefix(bearer, "Bearer ")
			if !ok || token == "" {
				return nil, nil, errors.New(`send {"Authorization": "Bearer <access_token>"} in the connection_init payload`)
			}
			ctx, err := wsAuth(ctx, token)
			return ctx, nil, err
		},
	})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(maxTokens)
	srv.SetDisableSuggestion(true)
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(maxComplexity))
	srv.Use(queryLimits{})
	srv.SetErrorPresenter(presentError(log))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.Error("graphql panic", "panic", v, "stack", string(debug.Stack()))
		return fmt.Errorf("graphql: panic: %v", v)
	})
	return srv
}

// presentError gives clients the message of errors meant for them and
// "internal error" for the rest, which it logs: a database error must not
// reach a client.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var argErr *ArgError
		var scopeErr *ScopeError
		var gqlErr *gqlerror.Error
		switch {
		case errors.As(err, &argErr):
			e := graphql.DefaultErrorPresenter(ctx, argErr)
			e.Message = argErr.Message
			e.Extensions = map[string]any{"code": CodeBadUserInput, "argument": argErr.Argument}
			return e
		case errors.As(err, &scopeErr):
			e := graphql.DefaultErrorPresenter(ctx, scopeErr)
			e.Extensions = map[string]any{"code": CodeForbidden, "scope": scopeErr.Scope}
			return e
		case errors.As(err, &gqlErr) && gqlErr.Err == nil:
			// Parse and validation errors of the query itself.
			return graphql.DefaultErrorPresenter(ctx, err)
		}
		log.ErrorContext(ctx, "graphql field failed", "err", err)
		e := graphql.DefaultErrorPresenter(ctx, errors.New("internal error"))
		e.Extensions = map[string]any{"code": CodeInternal}
		return e
	}
}
