package client

import (
	"context"
	"fmt"
	"slices"

	"github.com/shingle-storage/shingle/agent/datapath"
)

// Stat describes what a locator names and where its volume is.
type Stat struct {
	Locator string `json:"locator"`
	// Size is the bytes a get of the locator returns: the blob's, or for
	// a manifest locator the whole file's.
	Size int64 `json:"size"`
	// CRC32C is the checksum of the blob the locator names (for a file,
	// of its manifest).
	CRC32C uint32 `json:"crc32c"`
	// File describes the file a manifest locator names; nil for a blob.
	File *FileStat `json:"file,omitempty"`
	// The volume of the blob the locator names (for a file, its
	// manifest's), and its members.
	Volume     uint64         `json:"volume"`
	Scheme     string         `json:"scheme"`
	State      string         `json:"state"`
	Generation uint64         `json:"generation"`
	Holders    []HolderStatus `json:"holders"`
}

// FileStat is what a manifest says of its file.
type FileStat struct {
	// ManifestSize is the manifest blob's own size.
	ManifestSize int `json:"manifest_size"`
	// SHA256 is the file's checksum, in hex; GetFile checks it.
	SHA256 string `json:"sha256"`
	// Blobs is how many blobs hold the file, and Volumes the volumes
	// they are in, ascending.
	Blobs   int      `json:"blobs"`
	Volumes []uint64 `json:"volumes"`
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
// describes it and its volume. For a manifest locator it also reads the
// manifest, but not the file's blobs: Size is then the file's size, as
// the manifest gives it.
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
	st := Stat{Locator: l.String(), Size: int64(len(b)), CRC32C: datapath.CRC32C(b), Volume: v.GetId(), Scheme: v.GetScheme().GetName(),
		State: v.GetState(), Generation: v.GetGeneration()}
	if l.Manifest {
		m, err := decodeManifest(l, b)
		if err != nil {
			return Stat{}, err
		}
		f := &FileStat{ManifestSize: len(b), SHA256: m.SHA256, Blobs: len(m.Blobs)}
		for i, s := range m.Blobs {
			bl, err := ParseLocator(s)
			if err != nil {
				return Stat{}, fmt.Errorf("client: manifest %s, blob %d: %w", l, i, err)
			}
			if !slices.Contains(f.Volumes, bl.Volume) {
				f.Volumes = append(f.Volumes, bl.Volume)
			}
		}
		slices.Sort(f.Volumes)
		st.Size, st.File = m.Size, f
	}
	for _, h := range loc.GetHolders() {
		st.Holders = append(st.Holders, HolderStatus{Index: h.GetIndex(), Drive: h.GetDrive(), Host: h.GetHost(), Address: h.GetAddress(),
			Extent: h.GetExtent(), DriveState: h.GetDriveState(), Reachability: h.GetReachability()})
	}
	if len(st.Holders) == 0 {
		return st, fmt.Errorf("client: volume %d has no holders", l.Volume)
	}
	return st, nil
}
