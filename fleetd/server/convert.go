package server

import (
	"time"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The functions here turn the state's records, and the leader's soft
// state about them, into API messages.

// timestamp converts t, leaving the zero time unset.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// rackOf describes a rack, with the hierarchy above it and what it holds.
func rackOf(st *state.State, r state.Rack, hosts, drives int) *fleetv1.Rack {
	out := &fleetv1.Rack{Id: r.ID, Row: r.Row, PowerBudgetWatts: r.PowerBudgetWatts, Hosts: uint32(hosts), Drives: uint32(drives)}
	if row, ok := st.Row(r.Row); ok {
		out.Room = row.Room
		if room, ok := st.Room(row.Room); ok {
			out.Site = room.Site
		}
	}
	return out
}

// livenessOf converts the leader's view of a host.
func livenessOf(l HostLiveness) *fleetv1.Liveness {
	return &fleetv1.Liveness{
		Reachability:    string(l.Reachability),
		LastHeartbeat:   timestamp(l.LastHeartbeat),
		SilentSince:     timestamp(l.SilentSince),
		RepairCandidate: l.RepairCandidate,
	}
}

// hostOf describes a host with its soft state.
func (s *Server) hostOf(h state.Host, drives int) *fleetv1.Host {
	l := s.live.Host(h.ID)
	out := &fleetv1.Host{Id: h.ID, Rack: h.Rack, Address: h.Address, State: string(h.State), Drives: uint32(drives), Liveness: livenessOf(l), Load: l.Load}
	if h.JoinedAt != 0 {
		out.JoinedAt = timestamppb.New(time.Unix(h.JoinedAt, 0))
	}
	return out
}

// driveOf describes a drive with its soft state.
func (s *Server) driveOf(st *state.State, d state.Drive, reserved uint64) *fleetv1.Drive {
	h, _ := st.Host(d.Host)
	out := &fleetv1.Drive{
		Id: d.ID, Host: d.Host, Rack: h.Rack, Slot: d.Slot, State: string(d.State), Reason: d.Reason,
		CapacityBytes: d.CapacityBytes, Model: d.Model, Firmware: d.Firmware, ReservedBytes: reserved,
		Liveness: livenessOf(s.live.Host(d.Host)),
	}
	if r, ok := s.live.Drive(d.ID); ok {
		out.Report = &fleetv1.DriveReport{Id: d.ID, FreeBytes: r.FreeBytes, PoolRoomBytes: r.PoolRoomBytes, Load: r.Load, Health: r.Health,
			FailureProbability: r.FailureProbability, HealthReasons: r.HealthReasons, BadExtents: r.BadExtents}
	}
	return out
}

// volumeOf describes a volume.
func volumeOf(v state.Volume) *fleetv1.Volume {
	return &fleetv1.Volume{
		Id: uint64(v.ID),
		Scheme: &fleetv1.Scheme{
			Kind: string(v.Scheme.Kind), Replicas: uint32(v.Scheme.Replicas), Data: uint32(v.Scheme.Data),
			Parity: uint32(v.Scheme.Parity), LocalGroups: uint32(v.Scheme.LocalGroups), Name: v.Scheme.String(),
		},
		State: string(v.State), Placement: v.Placement, Generation: v.Generation, MemberBytes: v.MemberBytes,
		Epoch: v.Epoch, Blobs: v.Blobs, DeletedBlobs: uint64(len(v.Deleted)),
	}
}

// countsOf summarises the state.
func countsOf(st *state.State) *fleetv1.FleetCounts {
	c := &fleetv1.FleetCounts{DrivesByState: map[string]uint32{}, HostsByState: map[string]uint32{}, VolumesByState: map[string]uint32{}}
	c.Racks = uint32(len(st.Racks()))
	for _, h := range st.Hosts() {
		c.Hosts++
		c.HostsByState[string(h.State)]++
	}
	for _, d := range st.Drives() {
		c.Drives++
		c.DrivesByState[string(d.State)]++
	}
	for _, v := range st.Volumes() {
		c.Volumes++
		c.VolumesByState[string(v.State)]++
	}
	return c
}
