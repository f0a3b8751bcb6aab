package client

import (
	"context"
	"fmt"

	"github.com/shingle-storage/shingle/agent/datapath"
)

// Stat describes a stored blob and where its volume is.
type Stat struct {
	Locator    string `json:"locator"`
	Size       int    `json:"size"`
	CRC32C     uint32 `json:"crc32c"`
	Volume     uint64 `json:"volume"`
	Scheme     string `json:"scheme"`
	State      string `json:"state"`
	Generation uint64 `json:"generation"`
	// ReadFrom is how the blob was read for this stat: a replica or shard
	// or a reconstruction.
	ReadFrom string         `json:"read_from,omitempty"`
	Holders  []HolderStatus `json:"holders"`
}

// HolderStatus is one member of the blob's volume.
type HolderStatus struct {
	Index        uint32 `json:"index"`
	Drive        string `json:"drive"`
	Host         string `json:"host"`
	Address      string `json:"address"`
	Extent       uint64 `json:"extent"`
	DriveState   string `json:"drive_state"`
	Reachability string `json:"reachability"`
}

// Stat reads the blob l names (checking its checksum on the way) and
// describes it with its volume's current location.
func (c *Client) Stat(ctx context.Context, l Locator) (Stat, error) {
	b, err := c.Get(ctx, l)
	if err != nil {
		return Stat{}, err
	}
	loc, err := c.locate(ctx, l.Volume, false)
	if err != nil {
		return Stat{}, err
	}
	v := loc.GetVolume()
	st := Stat{Locator: l.String(), Size: len(b), CRC32C: datapath.CRC32C(b), Volume: v.GetId(), Scheme: v.GetScheme().GetName(),
		State: v.GetState(), Generation: v.GetGeneration()}
	for _, h := range loc.GetHolders() {
		st.Holders = append(st.Holders, HolderStatus{Index: h.GetIndex(), Drive: h.GetDrive(), Host: h.GetHost(), Address: h.GetAddress(),
			Extent: h.GetExtent(), DriveState: h.GetDriveState(), Reachability: h.GetReachability()})
	}
	if len(st.Holders) == 0 {
		return st, fmt.Errorf("client: volume %d has no holders", l.Volume)
	}
	return st, nil
}
