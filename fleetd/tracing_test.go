package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP trace receiver: it keeps every span it is sent,
// with the service instance that sent it.
type collector struct {
	mu    sync.Mutex
	spans []collected
}

type collected struct {
	instance string
	span     *tracev1.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		instance := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.instance.id" {
				instance = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, collected{instance, s})
			}
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Write(b)
}

// TestTracesFollowAWriteThroughAFollower sends a write to a follower and
// checks, in the spans the three fleetd processes export over OTLP, that one
// trace holds the follower's API span, its forwarding call, the leader's
// span for the forwarded command and the leader's Raft apply.
func TestTracesFollowAWriteThroughAFollower(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	f := threeNodes(t, "--otlp-endpoint", srv.URL)
	follower, leader := f.follower(), f.leader()
	f.seed(follower)
	if err := f.addRack(ctx(t, 10*time.Second), follower, "traced"); err != nil {
		t.Fatal(err)
	}

	var why string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		col.mu.Lock()
		spans := append([]collected(nil), col.spans...)
		col.mu.Unlock()
		// The follower's server span for AddRack starts the trace.
		var root *collected
		for i, s := range spans {
			if s.instance == follower.id && s.span.GetName() == "shingle.fleet.v1.FleetService/AddRack" &&
				s.span.GetKind() == tracev1.Span_SPAN_KIND_SERVER {
				root = &spans[i]
			}
		}
		if root == nil {
			why = "no AddRack server span from the follower"
			continue
		}
		var forwarded, applied bool
		for _, s := range spans {
			if string(s.span.GetTraceId()) != string(root.span.GetTraceId()) || s.instance != leader.id {
				continue
			}
			forwarded = forwarded || s.span.GetKind() == tracev1.Span_SPAN_KIND_SERVER
			applied = applied || s.span.GetName() == "raft.apply"
		}
		if forwarded && applied {
			return
		}
		why = "the leader's spans in the follower's trace: server span " + map[bool]string{true: "found", false: "missing"}[forwarded] +
			", raft.apply " + map[bool]string{true: "found", false: "missing"}[applied]
	}
	t.Fatalf("after 30 s: %s", why)
}
