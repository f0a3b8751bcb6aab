package server

import (
	"context"
	"github.com/shingle-storage/shingle/agent/datapath"
	"testing"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/internal/tracing"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTraces checks that a traced agent gives a control call its span and
// a blob PUT a trace that runs from the API through the store to the
// device: the data path's span, the store's extent.Put under it, and the
// device append under that.
func TestTraces(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewWithExporter(tracing.Config{Service: "agent"}, exp)
	e := newTestEnvWith(t, smallDrives, func(c *Config) { c.Tracer = tp })
	drive := e.drives[0].ID
	created, err := e.ctl.CreateExtent(t.Context(), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.put(e.hc, datapath.BlobPath(drive, created.Msg.GetExtent().GetId(), randomKey()), randomBytes(9000)); err != nil {
		t.Fatal(err)
	}
	if err := tp.TracerProvider.(*sdktrace.TracerProvider).ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	byName := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	if _, ok := byName["shingle.agent.v1.ExtentService/CreateExtent"]; !ok {
		t.Errorf("no span for the CreateExtent call; spans: %v", names(exp.GetSpans()))
	}
	chain := []string{"PUT blob", "extent.Put", "zoned.Append"}
	for i, name := range chain {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no %q span; spans: %v", name, names(exp.GetSpans()))
		}
		if i == 0 {
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("%q is a %v span, want server", name, s.SpanKind)
			}
			continue
		}
		parent := byName[chain[i-1]]
		if s.Parent.SpanID() != parent.SpanContext.SpanID() || s.SpanContext.TraceID() != parent.SpanContext.TraceID() {
			t.Errorf("%q is not a child of %q", name, chain[i-1])
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
