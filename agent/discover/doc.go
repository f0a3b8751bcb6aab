// Package discover finds the drives on a host and decides which of them the
// agent may claim.
//
// A Scanner reads what the kernel publishes in sysfs — the zoned model and
// zone limits, size, rotational flag, model, serial, WWN and firmware
// revision — into a Drive, and I/O statistics from /proc/diskstats. Both
// roots are configurable, so tests run on fake trees shaped like the
// kernel's.
//
// A Drive is identified by its WWN, or failing that by its model and serial
// number; the kernel name (sdb, nvme0n1) and its /dev path are only where the
// drive is found now, and change across reboots and hot-plugs.
//
// A Policy says which drives the agent may claim: by WWN, serial, model
// glob, or every zoned drive. Vetting a drive reads its first and last
// sectors and refuses one that holds a partition table, a filesystem or
// volume-manager signature, or the Shingle label of another cluster, unless
// the policy forces it; the *Refusal error says which drive, why, and what
// the operator can do. Scanner.Claim opens a drive for exclusive use, checks
// that it is still the drive that was scanned, and vets it through its zone
// write pointers, so nothing past a write pointer is ever read.
package discover
