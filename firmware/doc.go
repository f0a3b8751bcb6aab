// Package firmware holds the drive firmware catalog and the rollout
// planner.
//
// Drive firmware is where fleets meet their worst correlated failures: a
// revision that bricks drives after so many power-on hours, corrupts data
// under a rare command sequence, or misreports SMART, fails every drive
// that runs it, not one at a time. An operator therefore needs to know, at
// any moment, which drives run a revision known to be bad, and to move a
// fleet to a good revision without taking more of any rack out of service
// than its volumes can spare.
//
// The catalog is a directory of manifests, one YAML file per drive model
// (see Manifest and the files in firmware/catalog/): the revision the
// fleet should run, the revisions known to be bad and why, and the image
// that installs the target. Plan compares the fleet's drives (their model
// and firmware as their agents register them) with the catalog and puts
// the drives to update into waves: a canary first, then waves that take
// at most a given number of drives out of each rack at a time, counting
// the drives already out (draining, drained, failed), drives on a bad
// revision first. A wave is carried out by draining its drives (fleetctl
// drive set-state ID draining), flashing each drained drive with its
// vendor's tool, and provisioning it back; the next wave starts once the
// drives of the last are back in service and healthy.
//
//	fleetctl firmware status --catalog firmware/catalog
//	fleetctl firmware plan --catalog firmware/catalog --per-rack 1
package firmware
