package server

import (
	"context"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// The topology writes are one state command each; any server takes them
// (a follower forwards the command to the leader).

// AddSite adds a site.
func (f *fleetService) AddSite(ctx context.Context, req *connect.Request[fleetv1.AddSiteRequest]) (*connect.Response[fleetv1.AddSiteResponse], error) {
	if _, err := f.s.propose(ctx, &state.AddSite{ID: req.Msg.GetId()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.AddSiteResponse{}), nil
}

// AddRoom adds a room to a site.
func (f *fleetService) AddRoom(ctx context.Context, req *connect.Request[fleetv1.AddRoomRequest]) (*connect.Response[fleetv1.AddRoomResponse], error) {
	if _, err := f.s.propose(ctx, &state.AddRoom{ID: req.Msg.GetId(), Site: req.Msg.GetSite()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.AddRoomResponse{}), nil
}

// AddRow adds a row to a room.
func (f *fleetService) AddRow(ctx context.Context, req *connect.Request[fleetv1.AddRowRequest]) (*connect.Response[fleetv1.AddRowResponse], error) {
	if _, err := f.s.propose(ctx, &state.AddRow{ID: req.Msg.GetId(), Room: req.Msg.GetRoom()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.AddRowResponse{}), nil
}

// AddRack adds a rack to a row.
func (f *fleetService) AddRack(ctx context.Context, req *connect.Request[fleetv1.AddRackRequest]) (*connect.Response[fleetv1.AddRackResponse], error) {
	c := &state.AddRack{ID: req.Msg.GetId(), Row: req.Msg.GetRow(), PowerBudgetWatts: req.Msg.GetPowerBudgetWatts()}
	if _, err := f.s.propose(ctx, c); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.AddRackResponse{}), nil
}

// AddHost records a host in a rack.
func (f *fleetService) AddHost(ctx context.Context, req *connect.Request[fleetv1.AddHostRequest]) (*connect.Response[fleetv1.AddHostResponse], error) {
	c := &state.AddHost{ID: req.Msg.GetId(), Rack: req.Msg.GetRack(), Address: req.Msg.GetAddress()}
	if _, err := f.s.propose(ctx, c); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.AddHostResponse{}), nil
}

// SetHostState moves a host to another state.
func (f *fleetService) SetHostState(ctx context.Context, req *connect.Request[fleetv1.SetHostStateRequest]) (*connect.Response[fleetv1.SetHostStateResponse], error) {
	c := &state.SetHostState{ID: req.Msg.GetId(), State: state.HostState(req.Msg.GetState())}
	if _, err := f.s.propose(ctx, c); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.SetHostStateResponse{}), nil
}

// SetDriveState moves a drive to another state.
func (f *fleetService) SetDriveState(ctx context.Context, req *connect.Request[fleetv1.SetDriveStateRequest]) (*connect.Response[fleetv1.SetDriveStateResponse], error) {
	c := &state.SetDriveState{ID: req.Msg.GetId(), State: state.DriveState(req.Msg.GetState()), Reason: req.Msg.GetReason()}
	if _, err := f.s.propose(ctx, c); err != nil {
		return nil, err
	}
	return connect.NewResponse(&fleetv1.SetDriveStateResponse{}), nil
}
