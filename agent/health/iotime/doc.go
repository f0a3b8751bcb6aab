// Package iotime measures the I/O the agent does on each drive: a Device
// wraps a zoned.Device and counts every operation, the bytes it moved and
// the device errors it met, and times it into a latency Histogram.
//
// The counters are cumulative from the moment the device was wrapped;
// Stats.Sub of two readings gives the I/O of the span between them, which
// is how the health monitor measures latency over a window and how package
// failslow compares a drive with its peers. The agent's /metrics exposes
// the same counters and histograms.
//
// Timing happens where the agent calls the device, so a latency includes
// the time the request waited in the kernel's queue for that drive, not
// only the time the drive took; a drive the agent sends more work to than
// its peers looks slower too.
package iotime
