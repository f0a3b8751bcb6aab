package monitor

import "github.com/shingle-storage/shingle/zoned"

// ZoneCounts counts a drive's zones by condition.
type ZoneCounts map[zoned.Condition]int

// ReadOnly is how many zones have gone read-only.
func (z ZoneCounts) ReadOnly() int { return z[zoned.CondReadOnly] }

// Offline is how many zones have gone offline.
func (z ZoneCounts) Offline() int { return z[zoned.CondOffline] }

// Conditions lists the zone conditions in the order of the kernel's
// numbering.
func Conditions() []zoned.Condition {
	return []zoned.Condition{zoned.CondNotWP, zoned.CondEmpty, zoned.CondImplicitOpen, zoned.CondExplicitOpen,
		zoned.CondClosed, zoned.CondReadOnly, zoned.CondFull, zoned.CondOffline}
}

// ConditionName names a condition for metrics and reports: not_wp, empty,
// implicit_open, explicit_open, closed, read_only, full, offline.
func ConditionName(c zoned.Condition) string {
	switch c {
	case zoned.CondNotWP:
		return "not_wp"
	case zoned.CondEmpty:
		return "empty"
	case zoned.CondImplicitOpen:
		return "implicit_open"
	case zoned.CondExplicitOpen:
		return "explicit_open"
	case zoned.CondClosed:
		return "closed"
	case zoned.CondReadOnly:
		return "read_only"
	case zoned.CondFull:
		return "full"
	case zoned.CondOffline:
		return "offline"
	}
	return c.String()
}

// CountZones reads dev's zone report, a page at a time, and counts the
// zones by condition.
func CountZones(dev zoned.Device) (ZoneCounts, error) {
	n := dev.Info().ZoneCount
	page := make([]zoned.Zone, min(n, 1024))
	counts := ZoneCounts{}
	for got := 0; got < n; {
		k, err := dev.ReportZones(got, page[:min(len(page), n-got)])
		if err != nil {
			return nil, err
		}
		if k == 0 {
			break
		}
		for _, z := range page[:k] {
			counts[z.Cond]++
		}
		got += k
	}
	return counts, nil
}
