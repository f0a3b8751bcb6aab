package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// SnapshotFormat names the snapshot format; it is the first field of every
// snapshot, so a file can be recognised (and a wrong file refused) before
// anything else is read.
const SnapshotFormat = "shingle-fleet-state"

// SnapshotVersion is the version of the snapshot layout written by
// WriteSnapshot. ReadSnapshot reads only this version; when the layout
// changes, ReadSnapshot will learn to read the old one too.
const SnapshotVersion = 1

// snapshotV1 is the snapshot layout: one JSON object with the state's
// tables as arrays ordered by id, so that equal states give byte-identical
// snapshots.
//
//	{"format":"shingle-fleet-state","version":1,"index":42,"last_volume":7,
//	 "sites":[...],"rooms":[...],"rows":[...],"racks":[...],
//	 "hosts":[...],"drives":[...],"volumes":[...],"join_tokens":[...],
//	 "members":[...]}
//
// "members" came after the first release of the layout; a snapshot without
// it reads as having no members recorded (each server records itself again
// once it runs), so the version did not change.
type snapshotV1 struct {
	Format     string      `json:"format"`
	Version    int         `json:"version"`
	Index      uint64      `json:"index"`
	LastVolume VolumeID    `json:"last_volume"`
	Sites      []Site      `json:"sites"`
	Rooms      []Room      `json:"rooms"`
	Rows       []Row       `json:"rows"`
	Racks      []Rack      `json:"racks"`
	Hosts      []Host      `json:"hosts"`
	Drives     []Drive     `json:"drives"`
	Volumes    []Volume    `json:"volumes"`
	Tokens     []JoinToken `json:"join_tokens"`
	Members    []Member    `json:"members,omitempty"`
}

// WriteSnapshot writes s, as of log index index, to w.
func WriteSnapshot(w io.Writer, s *State, index uint64) error {
	bw := bufio.NewWriter(w)
	snap := snapshotV1{
		Format: SnapshotFormat, Version: SnapshotVersion, Index: index, LastVolume: s.lastVolume,
		Sites: s.Sites(), Rooms: s.Rooms(), Rows: s.Rows(), Racks: s.Racks(),
		Hosts: s.Hosts(), Drives: s.Drives(), Volumes: s.Volumes(), Tokens: s.JoinTokens(),
		Members: s.Members(),
	}
	if err := json.NewEncoder(bw).Encode(snap); err != nil {
		return fmt.Errorf("write fleet state snapshot: %w", err)
	}
	return bw.Flush()
}

// ReadSnapshot reads a snapshot written by WriteSnapshot and returns the
// state and the log index it was taken at. It checks every invariant of the
// state (CheckInvariants), so a damaged or hand-edited snapshot is refused
// rather than restored.
func ReadSnapshot(r io.Reader) (*State, uint64, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	var snap snapshotV1
	if err := dec.Decode(&snap); err != nil {
		return nil, 0, fmt.Errorf("read fleet state snapshot: %w", err)
	}
	if snap.Format != SnapshotFormat {
		return nil, 0, fmt.Errorf("read fleet state snapshot: format is %q, want %q; is this a fleetd snapshot?", snap.Format, SnapshotFormat)
	}
	if snap.Version != SnapshotVersion {
		return nil, 0, fmt.Errorf("read fleet state snapshot: version %d is not supported (this release reads %d)", snap.Version, SnapshotVersion)
	}
	if dec.More() {
		return nil, 0, fmt.Errorf("read fleet state snapshot: trailing data after the snapshot")
	}
	s := New()
	s.lastVolume = snap.LastVolume
	dup := func(kind, id string) error {
		return fmt.Errorf("read fleet state snapshot: %s %q appears twice", kind, id)
	}
	for _, v := range snap.Sites {
		if _, ok := s.sites[v.ID]; ok {
			return nil, 0, dup("site", v.ID)
		}
		s.sites[v.ID] = v
	}
	for _, v := range snap.Rooms {
		if _, ok := s.rooms[v.ID]; ok {
			return nil, 0, dup("room", v.ID)
		}
		s.rooms[v.ID] = v
	}
	for _, v := range snap.Rows {
		if _, ok := s.rows[v.ID]; ok {
			return nil, 0, dup("row", v.ID)
		}
		s.rows[v.ID] = v
	}
	for _, v := range snap.Racks {
		if _, ok := s.racks[v.ID]; ok {
			return nil, 0, dup("rack", v.ID)
		}
		s.racks[v.ID] = v
	}
	for _, v := range snap.Hosts {
		if _, ok := s.hosts[v.ID]; ok {
			return nil, 0, dup("host", v.ID)
		}
		s.hosts[v.ID] = v
	}
	for _, v := range snap.Drives {
		if _, ok := s.drives[v.ID]; ok {
			return nil, 0, dup("drive", v.ID)
		}
		s.drives[v.ID] = v
		s.indexDrive(v)
	}
	for _, v := range snap.Volumes {
		if _, ok := s.volumes[v.ID]; ok {
			return nil, 0, dup("volume", fmt.Sprint(v.ID))
		}
		s.volumes[v.ID] = v.clone()
	}
	for _, v := range snap.Tokens {
		if _, ok := s.tokens[v.ID]; ok {
			return nil, 0, dup("join token", v.ID)
		}
		s.tokens[v.ID] = v
	}
	for _, v := range snap.Members {
		if _, ok := s.members[v.ID]; ok {
			return nil, 0, dup("member", v.ID)
		}
		s.members[v.ID] = v
	}
	if err := s.CheckInvariants(); err != nil {
		return nil, 0, fmt.Errorf("read fleet state snapshot: %w", err)
	}
	return s, snap.Index, nil
}
