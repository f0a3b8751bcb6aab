package tracing

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestOneTraceAcrossProcesses checks that a call relayed through a second
// server (as a follower forwards to the leader) makes one trace: the
// client's span, the first server's span, its client span to the second
// server, and the second server's span, each the child of the one before,
// with errors recorded on the spans they pass through.
func TestOneTraceAcrossProcesses(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewWithExporter(Config{Service: "test"}, exp)
	ic := connect.WithInterceptors(Interceptor(p))

	const proc = "/shingle.test.v1.Test/Call"
	back := httptest.NewServer(connect.NewUnaryHandler(proc,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			return nil, connect.NewError(connect.CodeNotFound, errors.New("no such thing"))
		}, ic))
	defer back.Close()
	relay := connect.NewClient[emptypb.Empty, emptypb.Empty](http.DefaultClient, back.URL+proc, ic)
	front := httptest.NewServer(connect.NewUnaryHandler(proc,
		func(ctx context.Context, req *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			return relay.CallUnary(ctx, req)
		}, ic))
	defer front.Close()

	client := connect.NewClient[emptypb.Empty, emptypb.Empty](http.DefaultClient, front.URL+proc, ic)
	_, err := client.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("call: %v, want the back server's NotFound", err)
	}
	// Flush (Shutdown would also empty the in-memory exporter).
	if err := p.TracerProvider.(*sdktrace.TracerProvider).ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4 (client, front server, relay client, back server)", len(spans))
	}
	byParent := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var root sdktrace.ReadOnlySpan
	for _, s := range spans.Snapshots() {
		if s.SpanContext().TraceID() != spans[0].SpanContext.TraceID() {
			t.Fatalf("span %s is in another trace", s.Name())
		}
		if !s.Parent().IsValid() {
			root = s
		} else {
			byParent[s.Parent().SpanID()] = s
		}
	}
	want := []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindServer}
	cur := root
	for i, kind := range want {
		if cur == nil {
			t.Fatalf("the chain of spans stops after %d", i)
		}
		if cur.SpanKind() != kind || cur.Name() != "shingle.test.v1.Test/Call" {
			t.Fatalf("span %d is %v %q, want %v", i, cur.SpanKind(), cur.Name(), kind)
		}
		if cur.Status().Code.String() != "Error" {
			t.Fatalf("span %d did not record the NotFound error", i)
		}
		cur = byParent[cur.SpanContext().SpanID()]
	}
}

func TestNoEndpointRecordsNothing(t *testing.T) {
	p, err := New(Config{Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() {
		t.Fatal("a provider without an endpoint records spans")
	}
	if _, err := New(Config{Service: "test", Endpoint: "localhost:4318"}); err == nil {
		t.Fatal("an endpoint without a scheme was accepted")
	}
}
