package tracing

import (
	"context"
	"strings"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Interceptor returns a Connect interceptor that traces unary calls with
// tp: on a handler it continues the caller's trace (from the traceparent
// header) in a server span named after the procedure; on a client it opens
// a client span and sends its context along. Streaming calls pass through
// untraced.
func Interceptor(tp trace.TracerProvider) connect.Interceptor {
	tracer := tp.Tracer("github.com/shingle-storage/shingle/internal/tracing")
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			spec := req.Spec()
			kind := trace.SpanKindServer
			if spec.IsClient {
				kind = trace.SpanKindClient
			} else {
				ctx = Extract(ctx, req.Header())
			}
			service, method := splitProcedure(spec.Procedure)
			ctx, span := tracer.Start(ctx, strings.TrimPrefix(spec.Procedure, "/"), trace.WithSpanKind(kind),
				trace.WithAttributes(attribute.String("rpc.system", "connect_rpc"),
					attribute.String("rpc.service", service), attribute.String("rpc.method", method)))
			defer span.End()
			if spec.IsClient {
				Inject(ctx, req.Header())
			}
			res, err := next(ctx, req)
			if err != nil {
				code := connect.CodeOf(err)
				span.SetAttributes(attribute.String("rpc.connect_rpc.error_code", code.String()))
				span.SetStatus(codes.Error, err.Error())
			}
			return res, err
		}
	})
}

// splitProcedure splits "/pkg.Service/Method".
func splitProcedure(p string) (service, method string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}
