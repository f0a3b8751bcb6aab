package extent

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The store traces with the tracer provider of the span in the caller's
// context: a request traced by the agent's API gets child spans for the
// store's work and for the device I/O under it, and an untraced call (no
// span in ctx) costs nothing. The store holds no tracer of its own.

const tracerName = "github.com/shingle-storage/shingle/agent/extent"

// startSpan starts a child span of ctx's span named name.
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(tracerName).Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends span, recording err if there is one.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
