package state

// Topology commands build the physical hierarchy: site → room → row → rack.
// Each level is added before what it contains and removed after it is empty,
// so every reference in the state points at something that exists.

// Command types of the topology commands.
const (
	TypeAddSite            CommandType = "site.add"
	TypeRemoveSite         CommandType = "site.remove"
	TypeAddRoom            CommandType = "room.add"
	TypeRemoveRoom         CommandType = "room.remove"
	TypeAddRow             CommandType = "row.add"
	TypeRemoveRow          CommandType = "row.remove"
	TypeAddRack            CommandType = "rack.add"
	TypeSetRackPowerBudget CommandType = "rack.set_power_budget"
	TypeRemoveRack         CommandType = "rack.remove"
)

// AddSite adds a site.
type AddSite struct {
	// ID names the new site.
	ID string `json:"id"`
}

// Type returns TypeAddSite.
func (*AddSite) Type() CommandType { return TypeAddSite }

func (c *AddSite) apply(s *State) (Result, *Error) {
	if err := checkID("site", c.ID); err != nil {
		return Result{}, err
	}
	if _, ok := s.sites[c.ID]; ok {
		return Result{}, existsf("site %q already exists", c.ID)
	}
	s.sites[c.ID] = Site{ID: c.ID}
	return Result{}, nil
}

// RemoveSite removes a site that has no rooms left.
type RemoveSite struct {
	// ID names the site to remove.
	ID string `json:"id"`
}

// Type returns TypeRemoveSite.
func (*RemoveSite) Type() CommandType { return TypeRemoveSite }

func (c *RemoveSite) apply(s *State) (Result, *Error) {
	if _, ok := s.sites[c.ID]; !ok {
		return Result{}, notFoundf("site %q does not exist", c.ID)
	}
	if n := countWhere(s.rooms, func(r Room) bool { return r.Site == c.ID }); n > 0 {
		return Result{}, conflictf("site %q still has %d rooms; remove them first", c.ID, n)
	}
	delete(s.sites, c.ID)
	return Result{}, nil
}

// AddRoom adds a room to a site.
type AddRoom struct {
	// ID names the new room.
	ID string `json:"id"`
	// Site is the existing site the room is in.
	Site string `json:"site"`
}

// Type returns TypeAddRoom.
func (*AddRoom) Type() CommandType { return TypeAddRoom }

func (c *AddRoom) apply(s *State) (Result, *Error) {
	if err := checkID("room", c.ID); err != nil {
		return Result{}, err
	}
	if _, ok := s.rooms[c.ID]; ok {
		return Result{}, existsf("room %q already exists", c.ID)
	}
	if _, ok := s.sites[c.Site]; !ok {
		return Result{}, notFoundf("room %q: site %q does not exist; add it first", c.ID, c.Site)
	}
	s.rooms[c.ID] = Room{ID: c.ID, Site: c.Site}
	return Result{}, nil
}

// RemoveRoom removes a room that has no rows left.
type RemoveRoom struct {
	// ID names the room to remove.
	ID string `json:"id"`
}

// Type returns TypeRemoveRoom.
func (*RemoveRoom) Type() CommandType { return TypeRemoveRoom }

func (c *RemoveRoom) apply(s *State) (Result, *Error) {
	if _, ok := s.rooms[c.ID]; !ok {
		return Result{}, notFoundf("room %q does not exist", c.ID)
	}
	if n := countWhere(s.rows, func(r Row) bool { return r.Room == c.ID }); n > 0 {
		return Result{}, conflictf("room %q still has %d rows; remove them first", c.ID, n)
	}
	delete(s.rooms, c.ID)
	return Result{}, nil
}

// AddRow adds a row to a room.
type AddRow struct {
	// ID names the new row.
	ID string `json:"id"`
	// Room is the existing room the row is in.
	Room string `json:"room"`
}

// Type returns TypeAddRow.
func (*AddRow) Type() CommandType { return TypeAddRow }

func (c *AddRow) apply(s *State) (Result, *Error) {
	if err := checkID("row", c.ID); err != nil {
		return Result{}, err
	}
	if _, ok := s.rows[c.ID]; ok {
		return Result{}, existsf("row %q already exists", c.ID)
	}
	if _, ok := s.rooms[c.Room]; !ok {
		return Result{}, notFoundf("row %q: room %q does not exist; add it first", c.ID, c.Room)
	}
	s.rows[c.ID] = Row{ID: c.ID, Room: c.Room}
	return Result{}, nil
}

// RemoveRow removes a row that has no racks left.
type RemoveRow struct {
	// ID names the row to remove.
	ID string `json:"id"`
}

// Type returns TypeRemoveRow.
func (*RemoveRow) Type() CommandType { return TypeRemoveRow }

func (c *RemoveRow) apply(s *State) (Result, *Error) {
	if _, ok := s.rows[c.ID]; !ok {
		return Result{}, notFoundf("row %q does not exist", c.ID)
	}
	if n := countWhere(s.racks, func(r Rack) bool { return r.Row == c.ID }); n > 0 {
		return Result{}, conflictf("row %q still has %d racks; remove them first", c.ID, n)
	}
	delete(s.rows, c.ID)
	return Result{}, nil
}

// AddRack adds a rack to a row.
type AddRack struct {
	// ID names the new rack.
	ID string `json:"id"`
	// Row is the existing row the rack stands in.
	Row string `json:"row"`
	// PowerBudgetWatts is the rack's power budget; 0 leaves it unset.
	PowerBudgetWatts uint32 `json:"power_budget_watts,omitempty"`
}

// Type returns TypeAddRack.
func (*AddRack) Type() CommandType { return TypeAddRack }

func (c *AddRack) apply(s *State) (Result, *Error) {
	if err := checkID("rack", c.ID); err != nil {
		return Result{}, err
	}
	if _, ok := s.racks[c.ID]; ok {
		return Result{}, existsf("rack %q already exists", c.ID)
	}
	if _, ok := s.rows[c.Row]; !ok {
		return Result{}, notFoundf("rack %q: row %q does not exist; add it first", c.ID, c.Row)
	}
	s.racks[c.ID] = Rack{ID: c.ID, Row: c.Row, PowerBudgetWatts: c.PowerBudgetWatts}
	return Result{}, nil
}

// SetRackPowerBudget changes a rack's power budget, e.g. after a PDU upgrade
// or during a facility power cap.
type SetRackPowerBudget struct {
	// Rack names the rack.
	Rack string `json:"rack"`
	// Watts is the new budget; 0 removes it.
	Watts uint32 `json:"watts"`
}

// Type returns TypeSetRackPowerBudget.
func (*SetRackPowerBudget) Type() CommandType { return TypeSetRackPowerBudget }

func (c *SetRackPowerBudget) apply(s *State) (Result, *Error) {
	r, ok := s.racks[c.Rack]
	if !ok {
		return Result{}, notFoundf("rack %q does not exist", c.Rack)
	}
	r.PowerBudgetWatts = c.Watts
	s.racks[c.Rack] = r
	return Result{}, nil
}

// RemoveRack removes a rack that has no hosts left (retired hosts count:
// remove them with RemoveHost first).
type RemoveRack struct {
	// ID names the rack to remove.
	ID string `json:"id"`
}

// Type returns TypeRemoveRack.
func (*RemoveRack) Type() CommandType { return TypeRemoveRack }

func (c *RemoveRack) apply(s *State) (Result, *Error) {
	if _, ok := s.racks[c.ID]; !ok {
		return Result{}, notFoundf("rack %q does not exist", c.ID)
	}
	if n := countWhere(s.hosts, func(h Host) bool { return h.Rack == c.ID }); n > 0 {
		return Result{}, conflictf("rack %q still has %d hosts; retire and remove them first", c.ID, n)
	}
	if n := countWhere(s.tokens, func(t JoinToken) bool { return t.Rack == c.ID }); n > 0 {
		return Result{}, conflictf("rack %q is named by %d join tokens; revoke them first", c.ID, n)
	}
	delete(s.racks, c.ID)
	return Result{}, nil
}

// countWhere counts the values of m for which keep is true.
func countWhere[K comparable, V any](m map[K]V, keep func(V) bool) int {
	n := 0
	for _, v := range m {
		if keep(v) {
			n++
		}
	}
	return n
}
