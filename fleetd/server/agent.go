package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/state"
	"google.golang.org/protobuf/types/known/durationpb"
)

// agentService serves AgentService. Both calls are relayed to the leader:
// registration so that it counts as the host's first heartbeat, heartbeats
// because the leader alone keeps them.
type agentService struct{ s *Server }

// checkAgent refuses an agent that speaks for a host other than the one
// its certificate names. Calls relayed by a fleetd server were checked by
// the server that received them.
func checkAgent(ctx context.Context, host string) error {
	c := callerOf(ctx)
	if c.Role == pki.RoleAgent && c.Name != host {
		return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("certificate %q may speak only for host %q, not %q", c.Name, c.Name, host))
	}
	return nil
}

// Register joins a host with a join token, or takes a known host back,
// and records its new drives.
func (a *agentService) Register(ctx context.Context, req *connect.Request[fleetv1.RegisterRequest]) (*connect.Response[fleetv1.RegisterResponse], error) {
	s := a.s
	m := req.Msg
	if err := checkAgent(ctx, m.GetHostId()); err != nil {
		return nil, err
	}
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.agent.Register)
	}
	// A host the fleet knows, in the rack it says, comes back without a
	// join token: a PXE-booted host registers at every boot, with the
	// token it was given, which may have expired since. What lets it in is
	// its certificate, which names it (checkAgent). A new host, or one
	// that says it moved racks, needs a valid token.
	var known bool
	s.fsm.Read(func(st *state.State) {
		h, ok := st.Host(m.GetHostId())
		known = ok && h.State != state.HostRetired && h.Rack == m.GetRack()
	})
	if known {
		if _, err := s.propose(ctx, &state.SetHostAddress{ID: m.GetHostId(), Address: m.GetAddress()}); err != nil {
			return nil, err
		}
	} else {
		id, secret, ok := splitToken(m.GetJoinToken())
		if !ok {
			return nil, invalid("the join token must look like <id>.<secret>, as fleetctl token create prints it")
		}
		join := &state.JoinHost{
			Token: id, SecretHash: state.HashJoinSecret(secret), Now: time.Now().Unix(),
			Host: m.GetHostId(), Rack: m.GetRack(), Address: m.GetAddress(),
		}
		if _, err := s.propose(ctx, join); err != nil {
			return nil, err
		}
	}
	out := &fleetv1.RegisterResponse{HeartbeatInterval: durationpb.New(s.cfg.HeartbeatInterval)}
	for _, d := range m.GetDrives() {
		_, err := s.propose(ctx, &state.AddDrive{
			ID: d.GetId(), Host: m.GetHostId(), Slot: d.GetSlot(), CapacityBytes: d.GetCapacityBytes(),
			Model: d.GetModel(), Firmware: d.GetFirmware(),
		})
		switch code := connect.CodeOf(err); {
		case err == nil:
			out.AddedDrives = append(out.AddedDrives, d.GetId())
		case code == connect.CodeAlreadyExists:
			out.KnownDrives = append(out.KnownDrives, d.GetId())
		case code == connect.CodeInvalidArgument || code == connect.CodeFailedPrecondition || code == connect.CodeNotFound:
			// The state machine refused this drive (its slot holds another
			// drive, its id is malformed): the others still join, and the
			// agent logs why this one did not.
			out.RefusedDrives = append(out.RefusedDrives, d.GetId()+": "+errMessage(err))
		default:
			return nil, err
		}
	}
	s.live.Heartbeat(m.GetHostId(), 0, nil)
	s.fsm.Read(func(st *state.State) {
		h, _ := st.Host(m.GetHostId())
		out.HostState = string(h.State)
	})
	s.log.Info("host registered", "host", m.GetHostId(), "rack", m.GetRack(), "address", m.GetAddress(), "new_drives", len(out.AddedDrives))
	return connect.NewResponse(out), nil
}

// Heartbeat records a host's heartbeat in the leader's memory.
func (a *agentService) Heartbeat(ctx context.Context, req *connect.Request[fleetv1.HeartbeatRequest]) (*connect.Response[fleetv1.HeartbeatResponse], error) {
	s := a.s
	m := req.Msg
	if err := checkAgent(ctx, m.GetHostId()); err != nil {
		return nil, err
	}
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.agent.Heartbeat)
	}
	var host state.Host
	var known bool
	s.fsm.Read(func(st *state.State) { host, known = st.Host(m.GetHostId()) })
	if !known {
		return nil, notFound("host %q is not in the fleet; register it with a join token first", m.GetHostId())
	}
	drives := make(map[string]DriveReport, len(m.GetDrives()))
	for _, d := range m.GetDrives() {
		drives[d.GetId()] = DriveReport{FreeBytes: d.GetFreeBytes(), PoolRoomBytes: d.GetPoolRoomBytes(), Load: d.GetLoad(), Health: d.GetHealth(),
			FailureProbability: d.GetFailureProbability(), HealthReasons: d.GetHealthReasons(), BadExtents: d.GetBadExtents()}
	}
	if !s.live.Heartbeat(m.GetHostId(), m.GetLoad(), drives) {
		// Leadership moved between the check above and now.
		return nil, noLeader(errors.New("this server stopped being the leader; send the heartbeat again"))
	}
	s.metrics.heartbeats.Inc()
	return connect.NewResponse(&fleetv1.HeartbeatResponse{HostState: string(host.State), HeartbeatInterval: durationpb.New(s.cfg.HeartbeatInterval)}), nil
}

// errMessage is err's message without Connect's code prefix.
func errMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}
