package server

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// fleetService serves FleetService: reads of the fleet's record, and
// additions to its topology.
type fleetService struct{ s *Server }

// tally counts, per rack and per host, the hosts and drives that are not
// retired.
type tally struct {
	rackHosts, rackDrives, hostDrives map[string]int
}

func tallyOf(st *state.State) tally {
	t := tally{rackHosts: map[string]int{}, rackDrives: map[string]int{}, hostDrives: map[string]int{}}
	for _, h := range st.Hosts() {
		if h.State != state.HostRetired {
			t.rackHosts[h.Rack]++
		}
	}
	for _, d := range st.Drives() {
		if d.State == state.DriveRetired {
			continue
		}
		t.hostDrives[d.Host]++
		if h, ok := st.Host(d.Host); ok {
			t.rackDrives[h.Rack]++
		}
	}
	return t
}

func notFound(format string, args ...any) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf(format, args...))
}

// ListRacks lists every rack.
func (f *fleetService) ListRacks(ctx context.Context, req *connect.Request[fleetv1.ListRacksRequest]) (*connect.Response[fleetv1.ListRacksResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.ListRacks)
	}
	out := &fleetv1.ListRacksResponse{}
	s.fsm.Read(func(st *state.State) {
		t := tallyOf(st)
		for _, r := range st.Racks() {
			out.Racks = append(out.Racks, rackOf(st, r, t.rackHosts[r.ID], t.rackDrives[r.ID]))
		}
	})
	return connect.NewResponse(out), nil
}

// GetRack describes one rack and its hosts.
func (f *fleetService) GetRack(ctx context.Context, req *connect.Request[fleetv1.GetRackRequest]) (*connect.Response[fleetv1.GetRackResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.GetRack)
	}
	var out *fleetv1.GetRackResponse
	s.fsm.Read(func(st *state.State) {
		r, ok := st.Rack(req.Msg.GetId())
		if !ok {
			return
		}
		t := tallyOf(st)
		out = &fleetv1.GetRackResponse{Rack: rackOf(st, r, t.rackHosts[r.ID], t.rackDrives[r.ID])}
		for _, h := range st.Hosts() {
			if h.Rack == r.ID {
				out.Hosts = append(out.Hosts, s.hostOf(h, t.hostDrives[h.ID]))
			}
		}
	})
	if out == nil {
		return nil, notFound("rack %q does not exist; see fleetctl rack list", req.Msg.GetId())
	}
	return connect.NewResponse(out), nil
}

// ListHosts lists hosts, optionally of one rack.
func (f *fleetService) ListHosts(ctx context.Context, req *connect.Request[fleetv1.ListHostsRequest]) (*connect.Response[fleetv1.ListHostsResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.ListHosts)
	}
	out := &fleetv1.ListHostsResponse{}
	s.fsm.Read(func(st *state.State) {
		t := tallyOf(st)
		for _, h := range st.Hosts() {
			if rack := req.Msg.GetRack(); rack == "" || h.Rack == rack {
				out.Hosts = append(out.Hosts, s.hostOf(h, t.hostDrives[h.ID]))
			}
		}
	})
	return connect.NewResponse(out), nil
}

// GetHost describes one host and its drives.
func (f *fleetService) GetHost(ctx context.Context, req *connect.Request[fleetv1.GetHostRequest]) (*connect.Response[fleetv1.GetHostResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.GetHost)
	}
	var out *fleetv1.GetHostResponse
	s.fsm.Read(func(st *state.State) {
		h, ok := st.Host(req.Msg.GetId())
		if !ok {
			return
		}
		t := tallyOf(st)
		out = &fleetv1.GetHostResponse{Host: s.hostOf(h, t.hostDrives[h.ID])}
		reserved := st.ReservedBytes()
		for _, d := range st.Drives() {
			if d.Host == h.ID {
				out.Drives = append(out.Drives, s.driveOf(st, d, reserved[d.ID]))
			}
		}
	})
	if out == nil {
		return nil, notFound("host %q does not exist; see fleetctl host list", req.Msg.GetId())
	}
	return connect.NewResponse(out), nil
}

// ListDrives lists drives, optionally of one host or in one state.
func (f *fleetService) ListDrives(ctx context.Context, req *connect.Request[fleetv1.ListDrivesRequest]) (*connect.Response[fleetv1.ListDrivesResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.ListDrives)
	}
	out := &fleetv1.ListDrivesResponse{}
	s.fsm.Read(func(st *state.State) {
		reserved := st.ReservedBytes()
		for _, d := range st.Drives() {
			if (req.Msg.GetHost() == "" || d.Host == req.Msg.GetHost()) && (req.Msg.GetState() == "" || string(d.State) == req.Msg.GetState()) {
				out.Drives = append(out.Drives, s.driveOf(st, d, reserved[d.ID]))
			}
		}
	})
	return connect.NewResponse(out), nil
}

// GetDrive describes one drive and the volumes on it.
func (f *fleetService) GetDrive(ctx context.Context, req *connect.Request[fleetv1.GetDriveRequest]) (*connect.Response[fleetv1.GetDriveResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.GetDrive)
	}
	var out *fleetv1.GetDriveResponse
	s.fsm.Read(func(st *state.State) {
		d, ok := st.Drive(req.Msg.GetId())
		if !ok {
			return
		}
		out = &fleetv1.GetDriveResponse{Drive: s.driveOf(st, d, st.ReservedBytes()[d.ID])}
		for _, v := range st.Volumes() {
			if v.Member(d.ID) >= 0 {
				out.Volumes = append(out.Volumes, uint64(v.ID))
			}
		}
	})
	if out == nil {
		return nil, notFound("drive %q does not exist; see fleetctl drive list", req.Msg.GetId())
	}
	return connect.NewResponse(out), nil
}

// ListVolumes lists volumes, optionally with a member on one drive or in
// one state.
func (f *fleetService) ListVolumes(ctx context.Context, req *connect.Request[fleetv1.ListVolumesRequest]) (*connect.Response[fleetv1.ListVolumesResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.ListVolumes)
	}
	out := &fleetv1.ListVolumesResponse{}
	s.fsm.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if (req.Msg.GetDrive() == "" || v.Member(req.Msg.GetDrive()) >= 0) && (req.Msg.GetState() == "" || string(v.State) == req.Msg.GetState()) {
				out.Volumes = append(out.Volumes, volumeOf(v))
			}
		}
	})
	return connect.NewResponse(out), nil
}

// GetVolume describes one volume.
func (f *fleetService) GetVolume(ctx context.Context, req *connect.Request[fleetv1.GetVolumeRequest]) (*connect.Response[fleetv1.GetVolumeResponse], error) {
	s := f.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.fleet.GetVolume)
	}
	var out *fleetv1.GetVolumeResponse
	s.fsm.Read(func(st *state.State) {
		if v, ok := st.Volume(state.VolumeID(req.Msg.GetId())); ok {
			out = &fleetv1.GetVolumeResponse{Volume: volumeOf(v)}
		}
	})
	if out == nil {
		return nil, notFound("volume %d does not exist; see fleetctl volume list", req.Msg.GetId())
	}
	return connect.NewResponse(out), nil
}
