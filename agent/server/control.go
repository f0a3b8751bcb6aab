package server

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// control serves ExtentService.
type control struct {
	drives *drives
	scrubs *scrubber
}

// ListDrives returns every drive with its use and health.
func (c *control) ListDrives(ctx context.Context, req *connect.Request[agentv1.ListDrivesRequest]) (*connect.Response[agentv1.ListDrivesResponse], error) {
	out := &agentv1.ListDrivesResponse{}
	for _, d := range c.drives.list {
		out.Drives = append(out.Drives, withHealth(driveProto(d), d))
	}
	return connect.NewResponse(out), nil
}

// CreateExtent opens a new extent.
func (c *control) CreateExtent(ctx context.Context, req *connect.Request[agentv1.CreateExtentRequest]) (*connect.Response[agentv1.CreateExtentResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	id := req.Msg.GetId()
	if id == 0 {
		id, err = d.Store.CreateExtent()
	} else {
		err = d.Store.CreateExtentID(id)
	}
	if err != nil {
		return nil, connectError(err)
	}
	e, err := stat(d, id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentv1.CreateExtentResponse{Extent: e}), nil
}

// SealExtent seals an open extent.
func (c *control) SealExtent(ctx context.Context, req *connect.Request[agentv1.SealExtentRequest]) (*connect.Response[agentv1.SealExtentResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	if err := d.Store.Seal(ctx, req.Msg.GetExtent()); err != nil {
		return nil, connectError(err)
	}
	e, err := stat(d, req.Msg.GetExtent())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentv1.SealExtentResponse{Extent: e}), nil
}

// DeleteExtent deletes an extent and its blobs.
func (c *control) DeleteExtent(ctx context.Context, req *connect.Request[agentv1.DeleteExtentRequest]) (*connect.Response[agentv1.DeleteExtentResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	if err := d.Store.DeleteExtent(ctx, req.Msg.GetExtent()); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentv1.DeleteExtentResponse{}), nil
}

// ListExtents returns every extent on a drive.
func (c *control) ListExtents(ctx context.Context, req *connect.Request[agentv1.ListExtentsRequest]) (*connect.Response[agentv1.ListExtentsResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	out := &agentv1.ListExtentsResponse{}
	for _, in := range d.Store.List() {
		out.Extents = append(out.Extents, extentProto(d, in))
	}
	return connect.NewResponse(out), nil
}

// StatExtent returns one extent.
func (c *control) StatExtent(ctx context.Context, req *connect.Request[agentv1.StatExtentRequest]) (*connect.Response[agentv1.StatExtentResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	e, err := stat(d, req.Msg.GetExtent())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentv1.StatExtentResponse{Extent: e}), nil
}

// CompactExtent compacts a sealed extent into a new one.
func (c *control) CompactExtent(ctx context.Context, req *connect.Request[agentv1.CompactExtentRequest]) (*connect.Response[agentv1.CompactExtentResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	src, err := stat(d, req.Msg.GetExtent())
	if err != nil {
		return nil, err
	}
	if src.GetState() == agentv1.ExtentState_EXTENT_STATE_OPEN && src.GetCompactingFrom() == 0 {
		return nil, connectError(fmt.Errorf("%w: extent %d takes blobs; seal it before compacting it", errNotCompactable, src.GetId()))
	}
	id, err := d.Store.Compact(ctx, req.Msg.GetExtent(), extent.CompactOptions{BytesPerSecond: int64(req.Msg.GetBytesPerSecond())})
	if err != nil {
		return nil, connectError(err)
	}
	e, err := stat(d, id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentv1.CompactExtentResponse{Extent: e}), nil
}

// StartScrub starts checking a drive's sealed extents against their seals
// in the background.
func (c *control) StartScrub(ctx context.Context, req *connect.Request[agentv1.StartScrubRequest]) (*connect.Response[agentv1.StartScrubResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	sc, err := c.scrubs.start(d, req.Msg.GetExtents(), req.Msg.GetBytesPerSecond())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentv1.StartScrubResponse{Scrub: sc}), nil
}

// GetScrub returns a drive's running or last scrub.
func (c *control) GetScrub(ctx context.Context, req *connect.Request[agentv1.GetScrubRequest]) (*connect.Response[agentv1.GetScrubResponse], error) {
	d, err := c.drives.get(req.Msg.GetDrive())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentv1.GetScrubResponse{Scrub: c.scrubs.status(d)}), nil
}

// stat finds extent id on d.
func stat(d *Drive, id uint64) (*agentv1.Extent, error) {
	if in, ok := d.Store.Info(id); ok {
		return extentProto(d, in), nil
	}
	return nil, connectError(fmt.Errorf("%w: drive %s has no extent %d; ListExtents shows its extents", extent.ErrNotFound, d.ID, id))
}

// driveProto describes d.
func driveProto(d *Drive) *agentv1.Drive {
	l, st := d.Store.Label(), d.Store.Stat()
	health, reasons := d.Health()
	return &agentv1.Drive{
		Id: d.ID, Cluster: l.Cluster.String(), Path: d.Path,
		ZoneSizeBytes: uint64(l.ZoneSize), ZoneCount: l.ZoneCount, CapacityBytes: d.CapacityBytes(),
		Extents: uint32(st.Extents), FreeExtents: uint32(st.FreeExtents), FreeZones: uint32(st.FreeZones),
		FreeBytes: d.FreeBytes(), Blobs: uint64(st.Blobs), Health: health, HealthReasons: reasons,
	}
}

// extentProto describes extent in on d.
func extentProto(d *Drive, in extent.Info) *agentv1.Extent {
	e := &agentv1.Extent{
		Id: in.ID, Drive: d.ID, Records: uint64(in.Records),
		LiveBytes: uint64(in.LiveBytes), DeadBytes: uint64(in.DeadBytes), UsedBytes: uint64(in.Used),
		ReclaimableBytes: uint64(max(in.Reclaimable, 0)), Damage: in.Damage, CompactingFrom: in.CompactingFrom,
	}
	switch in.State {
	case extent.StateOpen:
		e.State = agentv1.ExtentState_EXTENT_STATE_OPEN
	case extent.StateSealed:
		e.State = agentv1.ExtentState_EXTENT_STATE_SEALED
	case extent.StateReadOnly:
		e.State = agentv1.ExtentState_EXTENT_STATE_READ_ONLY
	}
	for _, z := range in.Zones {
		e.Zones = append(e.Zones, uint32(z))
	}
	return e
}
