package failslow

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/shingle-storage/shingle/agent/health/iotime"
)

// Rule decides which drives of a host are fail-slow; see the package
// documentation. The zero value of a field means its default.
type Rule struct {
	// Quantile is the latency quantile compared (0.99). Use 0.5 to compare
	// medians, which tail latency bursts move less.
	Quantile float64
	// Factor is how many times the peers' latency a drive's must exceed
	// (3).
	Factor float64
	// Floor is the latency a drive's must exceed as well (10 ms).
	Floor time.Duration
	// MinSamples is the number of operations of a kind a drive needs in
	// the window to be judged on that kind, or to count as a peer (500:
	// the p99 of 500 operations is the fifth slowest, so one or two
	// stalls, which any drive has, do not decide it).
	MinSamples uint64
	// MinPeers is the number of peers with MinSamples operations a drive
	// needs to be judged (3).
	MinPeers int
}

// The defaults of Rule's fields.
const (
	DefaultQuantile   = 0.99
	DefaultFactor     = 3
	DefaultFloor      = 10 * time.Millisecond
	DefaultMinSamples = 500
	DefaultMinPeers   = 3
)

// judged are the kinds of operation the rule compares.
var judged = []iotime.Op{iotime.Read, iotime.Write}

// WithDefaults returns r with every zero field set to its default.
func (r Rule) WithDefaults() Rule {
	if r.Quantile <= 0 || r.Quantile > 1 {
		r.Quantile = DefaultQuantile
	}
	if r.Factor <= 0 {
		r.Factor = DefaultFactor
	}
	if r.Floor <= 0 {
		r.Floor = DefaultFloor
	}
	if r.MinSamples == 0 {
		r.MinSamples = DefaultMinSamples
	}
	if r.MinPeers <= 0 {
		r.MinPeers = DefaultMinPeers
	}
	return r
}

// Finding is how one drive compares with its peers on one kind of
// operation.
type Finding struct {
	// Op is the kind of operation: iotime.Read or iotime.Write.
	Op iotime.Op
	// Samples is how many operations of the kind the drive did in the
	// window.
	Samples uint64
	// Latency is the drive's latency quantile over the window.
	Latency time.Duration
	// Peers is how many peers had enough operations to compare with.
	Peers int
	// PeerLatency is the median of the peers' latency quantiles.
	PeerLatency time.Duration
	// Slow is true when Latency exceeds both Factor × PeerLatency and
	// the Floor.
	Slow bool
}

// Verdict is the rule's verdict on one drive.
type Verdict struct {
	// Slow is true when the drive is fail-slow: slow for some kind of
	// operation.
	Slow bool
	// Findings holds one finding per kind of operation the drive could be
	// judged on (enough operations of its own and enough peers); none if
	// it could not be judged at all.
	Findings []Finding
	// Quantile and Factor are the rule's, for describing the findings.
	Quantile, Factor float64
}

// Judged reports whether the drive could be judged on any kind of
// operation.
func (v Verdict) Judged() bool { return len(v.Findings) > 0 }

// Reasons describes, one line each, the kinds of operation the drive is
// slow for, for example "fail-slow: write p99 120ms over 2400 writes is
// 40.0× the median of 3 peers (3ms)"; none if it is not fail-slow.
func (v Verdict) Reasons() []string {
	var out []string
	for _, f := range v.Findings {
		if !f.Slow {
			continue
		}
		ratio := "∞"
		if f.PeerLatency > 0 {
			ratio = fmt.Sprintf("%.1f", float64(f.Latency)/float64(f.PeerLatency))
		}
		out = append(out, fmt.Sprintf("fail-slow: %s %s %s over %d %ss is %s× the median of %d peers (%s)",
			f.Op, quantileName(v.Quantile), round(f.Latency), f.Samples, f.Op, ratio, f.Peers, round(f.PeerLatency)))
	}
	return out
}

// quantileName is "p99" for 0.99, "p50" for 0.5, "p99.9" for 0.999.
func quantileName(q float64) string {
	return "p" + strconv.FormatFloat(math.Round(q*1e4)/1e2, 'f', -1, 64)
}

// round shortens d for reading: three significant digits.
func round(d time.Duration) time.Duration {
	for _, unit := range []time.Duration{time.Second, time.Millisecond, time.Microsecond} {
		if d >= unit {
			return d.Round(unit / 100)
		}
	}
	return d
}

// Judge applies the rule to the drives of one host, given each drive's
// I/O over the same window (iotime.Stats.Sub of two readings, or what a
// Window returns), by drive id.
func (r Rule) Judge(windows map[string]iotime.Stats) map[string]Verdict {
	r = r.WithDefaults()
	out := make(map[string]Verdict, len(windows))
	for id := range windows {
		out[id] = Verdict{Quantile: r.Quantile, Factor: r.Factor}
	}
	for _, op := range judged {
		// The latency of every drive with enough operations of this kind.
		lat := make(map[string]time.Duration, len(windows))
		for id, w := range windows {
			if s := w[op]; s.Latency.Count() >= r.MinSamples {
				lat[id] = s.Latency.Quantile(r.Quantile)
			}
		}
		for id, l := range lat {
			peers := make([]time.Duration, 0, len(lat)-1)
			for peer, pl := range lat {
				if peer != id {
					peers = append(peers, pl)
				}
			}
			if len(peers) < r.MinPeers {
				continue
			}
			f := Finding{Op: op, Samples: windows[id][op].Latency.Count(), Latency: l, Peers: len(peers), PeerLatency: median(peers)}
			f.Slow = l > r.Floor && float64(l) > r.Factor*float64(f.PeerLatency)
			v := out[id]
			v.Findings = append(v.Findings, f)
			v.Slow = v.Slow || f.Slow
			out[id] = v
		}
	}
	return out
}

// median returns the median of ds (the mean of the middle two for an even
// count), sorting ds.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
