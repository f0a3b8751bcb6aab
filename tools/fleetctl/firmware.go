package main

import (
	"fmt"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/firmware"
	"github.com/urfave/cli/v2"
)

// firmwareCommand is fleetctl firmware: the fleet's drive firmware against
// the catalog, and rollout plans.
func firmwareCommand() *cli.Command {
	catalog := &cli.StringFlag{Name: "catalog", Value: "firmware/catalog", EnvVars: []string{"SHINGLE_FIRMWARE_CATALOG"},
		Usage: "directory of firmware manifests, one YAML file per drive model (see firmware/catalog/README.md)"}
	return &cli.Command{
		Name:  "firmware",
		Usage: "compare the drives' firmware with the catalog, and plan rollouts",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "list every drive's firmware as current, outdated, bad (a revision the catalog calls bad) or unknown, worst first",
				Flags: []cli.Flag{outputFlag(), catalog},
				Action: func(c *cli.Context) error {
					as, p, err := assessFirmware(c)
					if err != nil {
						return err
					}
					if p.json {
						return p.value(as)
					}
					t := newTable(p.w)
					count := map[firmware.Status]int{}
					for _, a := range as {
						count[a.Status]++
					}
					t.pair("drives", fmt.Sprintf("%d: %d bad, %d outdated, %d unknown, %d current", len(as),
						count[firmware.StatusBad], count[firmware.StatusOutdated], count[firmware.StatusUnknown], count[firmware.StatusCurrent]))
					t.blank()
					t.row("DRIVE", "HOST", "RACK", "STATE", "MODEL", "FIRMWARE", "TARGET", "STATUS", "WHY")
					for _, a := range as {
						t.row(a.ID, a.Host, a.Rack, a.State, a.Model, a.Firmware, a.Target, a.Status, a.Reason)
					}
					return t.tw.Flush()
				},
			},
			{
				Name:  "plan",
				Usage: "put the drives whose firmware is bad or outdated into rollout waves",
				Description: `A wave's drives are updated together: drain them (fleetctl drive set-state ID
draining), flash each drained drive with its vendor's tool and the
manifest's image, provision it back (set-state ID provisioning, then
in_service), and start the next wave once they are in service and healthy.
Drives on a bad revision come first. No wave takes more than --per-rack
drives of a rack out of service, counting the drives of the rack out
already (draining, drained, failed, awaiting replacement); racks with that
many out are held, their drives in no wave. The plan is computed from the
fleet as it is now: plan again after each wave.`,
				Flags: []cli.Flag{outputFlag(), catalog,
					&cli.IntFlag{Name: "per-rack", Value: 1, Usage: "most drives of one rack out of service at once"},
					&cli.IntFlag{Name: "canary", Value: 1, Usage: "drives of the first wave, updated alone before any other (0: none)"},
				},
				Action: func(c *cli.Context) error {
					if c.Int("per-rack") < 1 || c.Int("canary") < 0 {
						return usageErrorf("--per-rack must be 1 or more and --canary 0 or more")
					}
					as, p, err := assessFirmware(c)
					if err != nil {
						return err
					}
					waves, held := firmware.Plan(as, firmware.Options{PerRack: c.Int("per-rack"), Canary: c.Int("canary")})
					if p.json {
						if waves == nil {
							waves = []firmware.Wave{}
						}
						if held == nil {
							held = []firmware.Held{}
						}
						return p.value(struct {
							Waves []firmware.Wave `json:"waves"`
							Held  []firmware.Held `json:"held"`
						}{waves, held})
					}
					t := newTable(p.w)
					n := 0
					for _, w := range waves {
						n += len(w)
					}
					t.pair("plan", fmt.Sprintf("%d drives in %d waves, at most %d per rack out at once", n, len(waves), c.Int("per-rack")))
					for _, h := range held {
						t.pair("held", fmt.Sprintf("rack %s: out of service already: %d; to update, waiting for them: %d", h.Rack, h.Out, h.Waiting))
					}
					if len(waves) == 0 {
						return t.tw.Flush()
					}
					t.blank()
					t.row("WAVE", "DRIVE", "HOST", "RACK", "MODEL", "FIRMWARE", "TARGET", "STATUS")
					for i, w := range waves {
						for _, a := range w {
							t.row(i+1, a.ID, a.Host, a.Rack, a.Model, a.Firmware, a.Target, a.Status)
						}
					}
					return t.tw.Flush()
				},
			},
		},
	}
}

// assessFirmware loads the catalog and assesses every drive of the fleet
// against it.
func assessFirmware(c *cli.Context) ([]firmware.Assessment, *printer, error) {
	cat, err := firmware.Load(c.String("catalog"))
	if err != nil {
		return nil, nil, usageErrorf("the firmware catalog: %v", err)
	}
	f, p, err := setup(c)
	if err != nil {
		return nil, nil, err
	}
	res, _, err := call(c.Context, f, &fleetv1.ListDrivesRequest{}, func(s *clients) rpc[fleetv1.ListDrivesRequest, fleetv1.ListDrivesResponse] {
		return s.fleet.ListDrives
	})
	if err != nil {
		return nil, nil, err
	}
	var drives []firmware.Drive
	for _, d := range res.GetDrives() {
		drives = append(drives, firmware.Drive{ID: d.GetId(), Host: d.GetHost(), Rack: d.GetRack(), State: d.GetState(),
			Model: d.GetModel(), Firmware: d.GetFirmware()})
	}
	return cat.Assess(drives), p, nil
}
