// Package tracing sets up OpenTelemetry tracing for Shingle's daemons: a
// tracer provider that exports spans over OTLP/HTTP when an endpoint is
// configured (and records nothing otherwise), and a Connect interceptor
// that opens a span for every call, server side and client side, carrying
// the W3C trace context across processes so one trace follows a request
// from fleetctl through a follower to the leader, or from a client through
// the agent's API into the store.
//
// Nothing here is global: each daemon builds its provider and hands it to
// the components that trace.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where spans go.
type Config struct {
	// Service names the daemon in every span ("fleetd", "agent").
	Service string
	// Instance identifies this process among the service's (its id).
	Instance string
	// Endpoint is the OTLP/HTTP collector, e.g. "http://127.0.0.1:4318";
	// empty means no export (a provider that records nothing).
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1; 0 means 1.
	// A call that arrives with a sampled trace context is always recorded.
	SampleRatio float64
}

// Provider is a tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// New returns the provider cfg describes.
func New(cfg Config) (*Provider, error) {
	if cfg.Endpoint == "" {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: endpoint %q: give the collector's OTLP/HTTP URL, like http://127.0.0.1:4318", cfg.Endpoint)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/") + "/v1/traces")}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", cfg.Endpoint, err)
	}
	return NewWithExporter(cfg, exp), nil
}

// NewWithExporter returns a provider that sends spans to exp in batches;
// tests pass an in-memory exporter.
func NewWithExporter(cfg Config, exp sdktrace.SpanExporter) *Provider {
	ratio := cfg.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	res := resource.NewSchemaless(attribute.String("service.name", cfg.Service),
		attribute.String("service.instance.id", cfg.Instance))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Provider{TracerProvider: tp, shutdown: func(ctx context.Context) error {
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}}
}

// propagator carries trace context in W3C traceparent headers.
var propagator = propagation.TraceContext{}

// Inject writes ctx's trace context into the headers of a call going out.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract returns ctx continuing the trace whose context h carries.
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}
