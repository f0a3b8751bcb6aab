// Package placement decides which drives hold a volume: a pure,
// deterministic function of the fleet as it is described to it, with no
// clock, no randomness and no I/O, so that the leader's decision can be
// explained, replayed and tested.
//
// The rule a placement keeps is one member (replica or shard) per failure
// domain: per rack by default, per host or per drive for fleets too small to
// have enough racks. Members go only to drives in service with room for
// them, and among the placements that keep the rule, the one whose fullest
// or busiest member is best off wins.
//
// Placements are drawn from a bounded set of drive combinations, copysets
// (Cidon et al., "Copysets: Reducing the Frequency of Data Loss in Cloud
// Storage", USENIX ATC 2013). Each drive belongs to a few copysets, enough
// that the drives it shares volumes with (its scatter width) number in the
// dozens: when it fails, repair reads from dozens of peers at once. But the
// number of distinct combinations stays near N·P/W instead of growing
// towards every possible W-subset of N drives, so the chance that some
// simultaneous failure of W−m drives destroys a volume stays small.
//
// Use it through a [Planner]: New takes the candidate drives (see
// [Candidates] for building them from the fleet state and the agents'
// reports), Place chooses a placement for a new volume, Replace chooses a
// drive to take over one lost member. A Planner remembers what it has handed
// out, so a batch of decisions made from one view of the fleet does not pile
// onto the same drives.
package placement
