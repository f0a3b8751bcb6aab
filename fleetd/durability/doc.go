// Package durability estimates how likely a volume, and the fleet, are to
// lose data within a year, from the drives' annualized failure rate (AFR),
// the volume's scheme and how fast the fleet repairs: the numbers behind
// `fleetctl durability`. It is arithmetic only, with no clock and no I/O,
// so an estimate can be explained, reproduced and tested.
//
// Use [Estimate] on [Inputs] for one scheme (its [Report] prints itself for
// people), [Table] to compare several, [MemberBytes] for the size of one
// replica or shard of a volume, and [ObservedAFR] to turn the fleet's own
// failure count into an AFR without trusting a handful of failures too much.
//
// # Model
//
// Each volume is a continuous-time Markov chain over i, the number of its
// n members (replicas or shards) that are lost. It survives f losses:
//
//	scheme       n          f
//	R copies     R          R−1
//	RS(k,m)      k+m        m
//	LRC(k,l,m)   k+l+m      m+1
//
// For LRC, f is the number of losses the code rebuilds in every pattern,
// as for the maximally recoverable LRC of Huang et al. ("Erasure Coding in
// Windows Azure Storage", USENIX ATC 2012): LRC(12,2,2) rebuilds any 3 lost
// shards and most (86%) patterns of 4. The model counts every 4th loss as
// data loss, so it understates LRC somewhat.
//
// States 0..f are transient and state f+1, data loss, absorbs. From state i
// the chain moves
//
//	i → i+1  (another member fails)  at rate a_i = (n−i)·λ
//	i → i−1  (one member repaired)   at rate b_i = 1/T_i for i ≥ 1, b_0 = 0
//
// λ is one drive's failure rate per hour. AFR is read as the probability
// that a drive in service fails within a year, and λ is the rate of the
// exponential lifetime with that probability:
//
//	λ = −ln(1 − AFR) / 8760
//
// (Backblaze publishes failures per drive-year, which is 8760·λ itself;
// passing such a figure as the AFR overstates λ by about half the figure,
// 1% of λ for a 2% AFR, which errs on the safe side.)
//
// T_i, the mean time to repair one member of a volume missing i, is the
// wait before repair starts plus the rebuild:
//
//	T_i = G_i + B/r
//	G_i = Grace for i < f;  G_f = 0
//
// B is [Inputs.MemberBytes] and r [Inputs.RepairBytesPerSecond]: bytes of
// the lost member rebuilt per second. G_f is zero because the fleet never
// waits out the grace period for a volume at its last margin. Repair takes
// one member at a time (rate b_i, not i·b_i): a volume missing i members
// gets one back at the rate of one repair. That is the conservative choice:
// with i·b_i the mean time to data loss grows by up to f! (6 for f = 3,
// about 0.8 nines). The chain treats repair times as exponential with mean
// T_i; a real grace period is a fixed wait of the same mean.
//
// # Mean time to data loss
//
// M_i, the expected hours from state i to data loss, solves the linear
// system
//
//	(a_i + b_i)·M_i − a_i·M_{i+1} − b_i·M_{i−1} = 1   for i = 0..f,  M_{f+1} = 0
//
// and MTTDL = M_0. The package solves it exactly, by elimination in the
// variables D_i = M_i − M_{i+1} (the mean time from first reaching i to
// first reaching i+1), in which the system is lower bidiagonal:
//
//	D_0 = 1/a_0
//	D_i = (1 + b_i·D_{i−1}) / a_i
//	M_i = D_i + D_{i+1} + … + D_f
//
// Every term is positive, so nothing cancels. Gaussian elimination of the
// system in M in float64 computes (a_i + b_i) − b_i on the way and loses
// about log10(b_i/a_i) of float64's 16 digits, 6 to 13 of them for real
// fleets. The tests check this solution against Gaussian elimination in
// exact rational arithmetic, against closed forms and against a simulation
// of the chain. For f = 1 (two replicas, or any n members tolerating one
// loss, repair rate μ):
//
//	MTTDL = ((2n−1)·λ + μ) / (n·(n−1)·λ²)
//
// and whenever λ ≪ b_i:
//
//	MTTDL ≈ b_1·b_2·…·b_f / (n·(n−1)·…·(n−f)·λ^(f+1))
//
// # Annual probability of loss
//
// From the healthy state a volume is repaired back to health many times
// before it is lost, so its time to loss is close to exponential with mean
// MTTDL. With h = 8760/MTTDL and V volumes:
//
//	P1 = 1 − e^(−h)                          one volume in a year
//	P  = 1 − (1 − P1)^V = 1 − e^(−V·h)       any of the V volumes in a year
//
// computed as −expm1(−h) and −expm1(−V·h), so that a probability of 1e-20
// stays 1e-20 instead of rounding to 0. "Nines" are −log10(P), printed
// truncated to one decimal so they never round up; P = 0 (an MTTDL beyond
// float64) has infinite nines and P = 1 none. V·h is also the expected
// number of volumes lost a year.
//
// For each state, [State.LossBeforeHealthy] is the probability that a
// volume missing i members is lost before it is whole again (the gambler's
// ruin of the chain): at the last margin it is about a_f/(a_f + b_f), the
// chance that a failure beats the repair.
//
// # What the model leaves out
//
// The estimate is what independent drive failures alone would cost, a
// ceiling on durability rather than a forecast:
//
//   - Failures are independent and the failure rate is constant. Correlated
//     failures — a rack losing power, a batch of bad drives, a firmware
//     rollout, an operator's mistake — dominate real data loss; placement's
//     one member per rack guards against some of them, and this model
//     counts none.
//   - The fleet figure treats volumes as independent. They share drives:
//     copysets make a loss rarer but larger when it happens, so the chance
//     of losing any volume is below P, while the expected number of volumes
//     lost, V·h, is the same either way.
//   - Latent sector errors and silent corruption (found by scrubbing),
//     repairs that fail, and repair slowing down when many drives fail at
//     once are not modelled; RepairBytesPerSecond should be measured under
//     the load a whole drive's failure brings (see [Inputs]).
package durability
