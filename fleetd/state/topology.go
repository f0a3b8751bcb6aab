package state

// Site is a data centre or campus: the outermost level of the physical
// hierarchy. Sites, rooms and rows exist so that operators and the power
// model can reason about where racks are; placement uses racks (or hosts,
// or drives) as failure domains.
type Site struct {
	// ID names the site, e.g. "ams1".
	ID string `json:"id"`
}

// Room is a machine room (data hall) inside a site.
type Room struct {
	// ID names the room; it is unique across the fleet, not just the site.
	ID string `json:"id"`
	// Site is the site the room is in.
	Site string `json:"site"`
}

// Row is a row of racks inside a room; racks in a row often share power
// distribution and cooling.
type Row struct {
	// ID names the row; it is unique across the fleet.
	ID string `json:"id"`
	// Room is the room the row is in.
	Room string `json:"room"`
}

// Rack is the default failure domain: one top-of-rack switch and one power
// feed, so a single event can take all of it out. Its power budget is what
// the scheduler admits background work against (spinning up and seeking
// SMR drives is what draws power).
type Rack struct {
	// ID names the rack; it is unique across the fleet.
	ID string `json:"id"`
	// Row is the row the rack stands in.
	Row string `json:"row"`
	// PowerBudgetWatts is the power the rack may draw; 0 means no budget has
	// been set yet and the scheduler must treat the rack as unconstrained.
	PowerBudgetWatts uint32 `json:"power_budget_watts"`
}
