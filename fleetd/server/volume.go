package server

import (
	"context"
	"encoding/hex"
	"fmt"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// volumeFleet is what the volume manager sees of the server.
type volumeFleet struct{ s *Server }

func (f volumeFleet) Read(fn func(*state.State)) { f.s.fsm.Read(fn) }

func (f volumeFleet) Propose(ctx context.Context, c state.Command) (state.Result, error) {
	return f.s.propose(ctx, c)
}

func (f volumeFleet) Host(id string) volume.HostView {
	h := f.s.live.Host(id)
	return volume.HostView{Reachability: string(h.Reachability), RepairCandidate: h.RepairCandidate}
}

func (f volumeFleet) Drive(id string) (volume.DriveView, bool) {
	r, ok := f.s.live.Drive(id)
	return volume.DriveView{Report: placement.Report{FreeBytes: r.FreeBytes, PoolRoomBytes: r.PoolRoomBytes, Load: r.Load}, Health: r.Health, HealthReasons: r.HealthReasons, BadExtents: r.BadExtents}, ok
}

// volumeService serves VolumeService: leases, locations, seals and the
// repair status. Leases, seals and the status are the leader's; a
// follower relays them.
type volumeService struct{ s *Server }

// Lease hands out an open volume.
func (v *volumeService) Lease(ctx context.Context, req *connect.Request[fleetv1.LeaseRequest]) (*connect.Response[fleetv1.LeaseResponse], error) {
	s := v.s
	if p, err := s.leaderPeer(ctx, req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.volume.Lease)
	}
	var retire []state.VolumeID
	for _, id := range req.Msg.GetRetire() {
		retire = append(retire, state.VolumeID(id))
	}
	loc, err := s.volumes.Lease(ctx, retire)
	if err != nil {
		return nil, connect.NewError(connect.CodeResourceExhausted, err)
	}
	return connect.NewResponse(&fleetv1.LeaseResponse{Location: locationOf(loc), Ttl: durationpb.New(volume.LeaseTTL)}), nil
}

// Locate describes a volume and its holders.
func (v *volumeService) Locate(ctx context.Context, req *connect.Request[fleetv1.LocateRequest]) (*connect.Response[fleetv1.LocateResponse], error) {
	s := v.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.volume.Locate)
	}
	loc, ok := s.volumes.Locate(state.VolumeID(req.Msg.GetVolume()))
	if !ok {
		return nil, notFound("volume %d does not exist; see fleetctl volume list", req.Msg.GetVolume())
	}
	return connect.NewResponse(&fleetv1.LocateResponse{Location: locationOf(loc)}), nil
}

// SealVolume seals an open volume.
func (v *volumeService) SealVolume(ctx context.Context, req *connect.Request[fleetv1.SealVolumeRequest]) (*connect.Response[fleetv1.SealVolumeResponse], error) {
	s := v.s
	if p, err := s.leaderPeer(ctx, req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.volume.SealVolume)
	}
	id := state.VolumeID(req.Msg.GetId())
	if _, ok := s.volumes.Locate(id); !ok {
		return nil, notFound("volume %d does not exist; see fleetctl volume list", id)
	}
	if err := s.volumes.Seal(ctx, id, "operator"); err != nil {
		s.log.Warn("seal", "volume", id, "err", err)
	}
	loc, _ := s.volumes.Locate(id)
	return connect.NewResponse(&fleetv1.SealVolumeResponse{Volume: volumeOf(loc.Volume)}), nil
}

// DeleteBlobs records deletions from a sealed or encoded volume.
func (v *volumeService) DeleteBlobs(ctx context.Context, req *connect.Request[fleetv1.DeleteBlobsRequest]) (*connect.Response[fleetv1.DeleteBlobsResponse], error) {
	s := v.s
	if p, err := s.leaderPeer(ctx, req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.volume.DeleteBlobs)
	}
	keys := make([]string, 0, len(req.Msg.GetKeys()))
	for _, k := range req.Msg.GetKeys() {
		if len(k) != 32 {
			return nil, invalid(fmt.Sprintf("a key is %d bytes; blob keys are 32", len(k)))
		}
		keys = append(keys, hex.EncodeToString(k))
	}
	res, err := s.propose(ctx, &state.DeleteBlobs{ID: state.VolumeID(req.Msg.GetVolume()), Keys: keys})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.DeleteBlobsResponse{Generation: res.Generation}), nil
}

// GetRepairStatus shows the leader's durability work.
func (v *volumeService) GetRepairStatus(ctx context.Context, req *connect.Request[fleetv1.GetRepairStatusRequest]) (*connect.Response[fleetv1.GetRepairStatusResponse], error) {
	s := v.s
	if p, err := s.leaderPeer(ctx, req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.volume.GetRepairStatus)
	}
	st := s.volumes.Status()
	out := &fleetv1.GetRepairStatusResponse{Repaired: st.Repaired, Failed: st.Failed, RepairedBytes: st.RepairedBytes,
		BytesPerSecond: st.BytesPerSecond, Encoded: st.Encoded, EncodeWaiting: uint32(st.EncodeWaiting),
		Compacted: st.Compacted, CompactedBytes: st.CompactedBytes, Moved: st.Moved, MovedBytes: st.MovedBytes}
	cc := st.CrossCheck
	out.CrossCheck = &fleetv1.CrossCheck{Drives: uint32(cc.Drives), Missing: cc.Missing, Orphaned: cc.Orphaned, OrphansDeleted: cc.OrphansDeleted}
	if !cc.At.IsZero() {
		out.CrossCheck.CheckedAt = timestamppb.New(cc.At)
	}
	for _, r := range st.RecentReads {
		out.RecentReads = append(out.RecentReads, uint32(r))
	}
	for _, t := range st.Queued {
		out.Queued = append(out.Queued, taskOf(t))
	}
	for _, t := range st.Running {
		out.Running = append(out.Running, taskOf(t))
	}
	return connect.NewResponse(out), nil
}

// locationOf converts a volume location for the API.
func locationOf(loc volume.Location) *fleetv1.Location {
	out := &fleetv1.Location{Volume: volumeOf(loc.Volume)}
	for _, k := range loc.Volume.Deleted {
		if b, err := hex.DecodeString(k); err == nil {
			out.Deleted = append(out.Deleted, b)
		}
	}
	for _, h := range loc.Holders {
		out.Holders = append(out.Holders, &fleetv1.Holder{Index: uint32(h.Index), Drive: h.Drive, Host: h.Host, Address: h.Address,
			Extent: h.Extent, DriveState: string(h.DriveState), Reachability: h.Reachability})
	}
	return out
}

// taskOf converts a repair task for the API.
func taskOf(t volume.Task) *fleetv1.RepairTask {
	out := &fleetv1.RepairTask{Volume: uint64(t.Volume), Scheme: t.Scheme.String(), LostDrives: t.LostDrives, Margin: int32(t.Margin),
		Reason: t.Reason, DoneBytes: t.DoneBytes, TotalBytes: t.TotalBytes, Reads: uint32(t.Reads), LastError: t.LastError, Drain: t.Drain}
	for _, i := range t.Lost {
		out.Lost = append(out.Lost, uint32(i))
	}
	return out
}
