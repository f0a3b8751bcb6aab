package main

import (
	"fmt"
	"sort"
	"time"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/durability"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/internal/bytesize"
	"github.com/urfave/cli/v2"
)

// durabilityCommand is fleetctl durability: the annual probability of
// data loss, as nines, with its inputs.
func durabilityCommand() *cli.Command {
	return &cli.Command{
		Name:  "durability",
		Usage: "estimate the annual probability of losing data, per scheme in use, as nines",
		Description: `durability feeds a Markov model (package fleetd/durability) with this fleet's
numbers: the volumes of each scheme and their member size, the drives'
failure rate (failures recorded in the fleet over the drive-years since the
hosts joined, blended with a prior of 1.5% a year over 100 drive-years so a
young fleet's estimate is neither 0 nor absurd), and the rate at which the
leader rebuilt members in its recent repairs (--repair-rate when it has not
repaired anything yet). The result is a ceiling: the model leaves out
correlated failures.`,
		Flags: []cli.Flag{outputFlag(),
			&cli.DurationFlag{Name: "grace", Value: 15 * time.Minute, Usage: "repair grace period fleetd runs with (its --repair-grace)"},
			&cli.StringFlag{Name: "repair-rate", Value: "50MiB", Usage: "bytes per second one member is rebuilt at, used until the fleet has measured its own"},
			&cli.Float64Flag{Name: "afr", Usage: "annualized failure rate to use instead of the fleet's observed one (e.g. 0.02)"},
		},
		Action: durabilityEstimate,
	}
}

// durabilityOut is the JSON form of fleetctl durability.
type durabilityOut struct {
	AFR            float64            `json:"afr"`
	Failures       int                `json:"failures"`
	DriveYears     float64            `json:"drive_years"`
	RepairRate     float64            `json:"repair_bytes_per_second"`
	RepairMeasured bool               `json:"repair_rate_measured"`
	Schemes        []durabilityScheme `json:"schemes"`
}

type durabilityScheme struct {
	Scheme      string  `json:"scheme"`
	Volumes     int     `json:"volumes"`
	MemberBytes uint64  `json:"member_bytes"`
	VolumeNines float64 `json:"volume_nines"`
	FleetNines  float64 `json:"fleet_nines"`
	PerVolume   float64 `json:"per_volume_annual_loss"`
	Fleet       float64 `json:"fleet_annual_loss"`
	MTTDLHours  float64 `json:"mttdl_hours"`
	report      durability.Report
}

func durabilityEstimate(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	vols, _, err := call(c.Context, f, &fleetv1.ListVolumesRequest{}, func(s *clients) rpc[fleetv1.ListVolumesRequest, fleetv1.ListVolumesResponse] {
		return s.fleet.ListVolumes
	})
	if err != nil {
		return err
	}
	drives, _, err := call(c.Context, f, &fleetv1.ListDrivesRequest{}, func(s *clients) rpc[fleetv1.ListDrivesRequest, fleetv1.ListDrivesResponse] {
		return s.fleet.ListDrives
	})
	if err != nil {
		return err
	}
	hosts, _, err := call(c.Context, f, &fleetv1.ListHostsRequest{}, func(s *clients) rpc[fleetv1.ListHostsRequest, fleetv1.ListHostsResponse] {
		return s.fleet.ListHosts
	})
	if err != nil {
		return err
	}
	rep, _, err := call(c.Context, f, &fleetv1.GetRepairStatusRequest{}, func(s *clients) rpc[fleetv1.GetRepairStatusRequest, fleetv1.GetRepairStatusResponse] {
		return s.volume.GetRepairStatus
	})
	if err != nil {
		return err
	}
	out := durabilityOut{RepairRate: rep.GetBytesPerSecond(), RepairMeasured: rep.GetBytesPerSecond() > 0}
	if !out.RepairMeasured {
		r, err := bytesize.Parse(c.String("repair-rate"))
		if err != nil || r == 0 {
			return usageErrorf("--repair-rate %q: give bytes per second such as 50MiB", c.String("repair-rate"))
		}
		out.RepairRate = float64(r)
	}
	// Drive-years: each host's drives since it joined.
	joined := map[string]time.Time{}
	for _, h := range hosts.GetHosts() {
		if h.GetJoinedAt() != nil {
			joined[h.GetId()] = h.GetJoinedAt().AsTime()
		}
	}
	inService := 0
	for _, d := range drives.GetDrives() {
		switch d.GetState() {
		case "failed", "awaiting_replacement":
			out.Failures++
		case "in_service":
			inService++
		}
		if t, ok := joined[d.GetHost()]; ok {
			out.DriveYears += time.Since(t).Hours() / 8760
		}
	}
	if out.AFR = c.Float64("afr"); out.AFR == 0 {
		if out.AFR, err = durability.ObservedAFR(out.Failures, out.DriveYears); err != nil {
			return err
		}
	}
	// One estimate per scheme in use.
	type group struct {
		scheme state.Scheme
		n      int
		bytes  uint64
	}
	groups := map[string]*group{}
	for _, v := range vols.GetVolumes() {
		s, err := state.ParseScheme(v.GetScheme().GetName())
		if err != nil {
			continue
		}
		g := groups[s.String()]
		if g == nil {
			g = &group{scheme: s}
			groups[s.String()] = g
		}
		g.n++
		g.bytes = max(g.bytes, v.GetMemberBytes())
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := groups[n]
		r, err := durability.Estimate(durability.Inputs{Scheme: g.scheme, AFR: out.AFR, MemberBytes: g.bytes,
			RepairBytesPerSecond: out.RepairRate, Grace: c.Duration("grace"), Volumes: g.n, Drives: inService})
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		out.Schemes = append(out.Schemes, durabilityScheme{Scheme: n, Volumes: g.n, MemberBytes: g.bytes, VolumeNines: r.VolumeNines,
			FleetNines: r.FleetNines, PerVolume: r.PerVolume, Fleet: r.Fleet, MTTDLHours: r.MTTDLHours, report: r})
	}
	if p.json {
		return p.value(out)
	}
	measured := "measured in this fleet's recent repairs"
	if !out.RepairMeasured {
		measured = "assumed (--repair-rate): no repair measured yet"
	}
	fmt.Fprintf(p.w, "drive failure rate: %.2f%% a year (%d failures over %.2f drive-years, with a 1.5%% prior over 100)\n",
		100*out.AFR, out.Failures, out.DriveYears)
	fmt.Fprintf(p.w, "repair rate:        %s/s per member, %s\n", size(uint64(out.RepairRate)), measured)
	fmt.Fprintf(p.w, "grace period:       %v (not waited for a volume at its last margin)\n\n", c.Duration("grace"))
	if len(out.Schemes) == 0 {
		fmt.Fprintln(p.w, "no volumes yet: nothing can be lost")
		return nil
	}
	var reports []durability.Report
	for _, s := range out.Schemes {
		reports = append(reports, s.report)
	}
	fmt.Fprint(p.w, durability.Table(reports...))
	return nil
}
