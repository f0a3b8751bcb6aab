// Package failslow finds fail-slow drives: drives that still work but
// answer far more slowly than they should, which drags down every request
// that touches them long before anything fails outright. A slow drive is
// recognised by comparing it with its peers, the other drives of the same
// host, which see the same kind of work through the same controller.
//
// # The rule
//
// Over a window (the health monitor uses the last 5 minutes; Window keeps
// the readings), for each of reads and writes separately:
//
//   - the drive's latency L is the Quantile (0.99: the p99) of the
//     latencies of that kind of operation on the drive, read from its
//     iotime histogram; only a drive with at least MinSamples (500)
//     operations of the kind in the window is judged or counts as a peer,
//     so that the p99 is the fifth slowest operation, not a single stall;
//   - the peers' latency P is the median of the same quantile over the
//     host's other drives that have at least MinSamples operations of the
//     kind; with fewer than MinPeers (3) such peers the drive is not
//     judged, since a median of one or two drives says nothing;
//   - the drive is slow for that kind if L > Factor·P (Factor 3) and
//     L > Floor (10 ms).
//
// A drive is fail-slow if it is slow for reads or for writes. The Floor
// keeps drives whose latencies are all tiny (a page-cache hit, an emulator
// on a fast disk, an idle NVMe drive) from being flagged over differences
// that cost nothing; the Factor leaves room for the ordinary spread among
// healthy drives, which on a host whose drives share the work evenly is
// well under 2×. Taking the median of the peers, not their mean, keeps one
// slow peer from hiding another.
//
// The rule assumes the drives of a host get comparable work: a drive that
// holds hot data and queues more requests than the others looks slower
// too (latencies are measured where the agent calls the device, queueing
// included).
package failslow
