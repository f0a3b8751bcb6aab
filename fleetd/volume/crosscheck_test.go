package volume

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// listingAgent is an agent's extent API that lists the extents it is
// given and records the deletions asked of it.
type listingAgent struct {
	agentv1connect.UnimplementedExtentServiceHandler
	mu      sync.Mutex
	extents []*agentv1.Extent
	deleted []uint64
}

func (a *listingAgent) ListExtents(context.Context, *connect.Request[agentv1.ListExtentsRequest]) (*connect.Response[agentv1.ListExtentsResponse], error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return connect.NewResponse(&agentv1.ListExtentsResponse{Extents: a.extents}), nil
}

func (a *listingAgent) DeleteExtent(_ context.Context, req *connect.Request[agentv1.DeleteExtentRequest]) (*connect.Response[agentv1.DeleteExtentResponse], error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deleted = append(a.deleted, req.Msg.GetExtent())
	return connect.NewResponse(&agentv1.DeleteExtentResponse{}), nil
}

// changingFleet is a fakeFleet whose state changes once, right after the
// first read of it: as if a volume were made while the caller worked.
type changingFleet struct {
	fakeFleet
	once   sync.Once
	change func(*state.State)
}

func (f *changingFleet) Read(fn func(*state.State)) {
	fn(f.st)
	f.once.Do(func() { f.change(f.st) })
}

// TestCrossCheckSparesAVolumeMadeWhileItRuns runs a cross-check during
// which a volume is made, filled and sealed before the cross-check lists
// the drive its replica is on: the replica's extent is in no placement
// the cross-check read when it began, but is in the state by the time it
// would delete it, and is kept. An extent no volume names is deleted.
func TestCrossCheckSparesAVolumeMadeWhileItRuns(t *testing.T) {
	agent := &listingAgent{}
	_, h := agentv1connect.NewExtentServiceHandler(agent)
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")

	st := state.New()
	for _, c := range []state.Command{
		&state.AddSite{ID: "s"}, &state.AddRoom{ID: "m", Site: "s"}, &state.AddRow{ID: "w", Room: "m"},
		&state.AddRack{ID: "r", Row: "w"}, &state.AddHost{ID: "h", Rack: "r", Address: addr},
		&state.SetHostState{ID: "h", State: state.HostInService},
		&state.AddDrive{ID: "d", Host: "h", Slot: "1", CapacityBytes: 1 << 40, Model: "m"},
		&state.SetDriveState{ID: "d", State: state.DriveInService},
	} {
		if _, err := st.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	made := state.VolumeID(0)
	f := &changingFleet{fakeFleet: fakeFleet{st: st, hosts: map[string]HostView{"h": {Reachability: Reachable}}, drives: map[string]DriveView{}},
		change: func(st *state.State) {
			res, err := st.Apply(&state.CreateVolume{Scheme: state.Replication(1), Placement: []string{"d"}, MemberBytes: 1 << 20})
			if err != nil {
				t.Error(err)
				return
			}
			made = res.Volume
			vol, _ := st.Volume(made)
			agent.mu.Lock()
			agent.extents = append(agent.extents,
				&agentv1.Extent{Id: ExtentOf(vol, 0), Drive: "d", State: agentv1.ExtentState_EXTENT_STATE_SEALED},
				&agentv1.Extent{Id: uint64(made+1) << 16, Drive: "d", State: agentv1.ExtentState_EXTENT_STATE_SEALED})
			agent.mu.Unlock()
		}}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	m := New(f, NewAgents(&tls.Config{RootCAs: pool}), Options{}, slog.New(slog.DiscardHandler))
	m.crossCheck(context.Background())

	if made == 0 {
		t.Fatal("no volume was made")
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	orphan := uint64(made+1) << 16
	if len(agent.deleted) != 1 || agent.deleted[0] != orphan {
		t.Fatalf("the cross-check deleted extents %v; want only %d, which no volume names (volume %d's replica is extent %d)",
			agent.deleted, orphan, made, uint64(made)<<16)
	}
}
