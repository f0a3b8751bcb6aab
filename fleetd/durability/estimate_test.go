package durability

import (
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/shingle-storage/shingle/fleetd/state"
)

const gib = uint64(1) << 30

// typical is a fleet of a million 1 GiB volumes of scheme s on drives
// with a 2% AFR, whose members are rebuilt at 100 MB/s after the default
// 15 minute grace.
func typical(s state.Scheme) Inputs {
	return Inputs{
		Scheme: s, AFR: 0.02, MemberBytes: MemberBytes(s, gib),
		RepairBytesPerSecond: 100e6, Grace: 15 * time.Minute, Volumes: 1_000_000,
	}
}

// fataler is what estimate needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func estimate(t fataler, in Inputs) Report {
	t.Helper()
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestErasureCodingBeatsReplication: with the same drives and repair,
// RS(6,3) and LRC(12,2,2) keep sealed volumes far safer than the three
// replicas of an open volume, at half the bytes or less. The numbers are
// logged for the record.
func TestErasureCodingBeatsReplication(t *testing.T) {
	r3 := estimate(t, typical(state.Replication(3)))
	rs := estimate(t, typical(state.RS(6, 3)))
	lrc := estimate(t, typical(state.LRC(12, 2, 2)))
	t.Logf("AFR 2%%, 1 GiB volumes, 100 MB/s, grace 15m, 1,000,000 volumes:\n%s", Table(r3, rs, lrc))
	t.Logf("RS(6,3) in full:\n%s", rs)
	if rs.VolumeNines < r3.VolumeNines+3 {
		t.Errorf("RS(6,3) has %.2f nines, R3 %.2f: want RS(6,3) 3 nines ahead at least", rs.VolumeNines, r3.VolumeNines)
	}
	if lrc.VolumeNines < r3.VolumeNines+3 {
		t.Errorf("LRC(12,2,2) has %.2f nines, R3 %.2f: want LRC 3 nines ahead at least", lrc.VolumeNines, r3.VolumeNines)
	}
	// LRC(12,2,2) spreads a volume over 16 drives and is counted as
	// surviving 3 losses, like RS(6,3) over 9: it should be close to, but
	// below, RS(6,3).
	if !(lrc.VolumeNines < rs.VolumeNines && lrc.VolumeNines > rs.VolumeNines-2) {
		t.Errorf("LRC(12,2,2) has %.2f nines, RS(6,3) %.2f: want LRC within 2 nines below", lrc.VolumeNines, rs.VolumeNines)
	}
	// A million volumes take 6 nines off each one's.
	for _, r := range []Report{r3, rs, lrc} {
		if d := r.VolumeNines - r.FleetNines; math.Abs(d-6) > 1e-6 {
			t.Errorf("%v: volume %.4f nines, fleet %.4f: want 6 apart", r.Inputs.Scheme, r.VolumeNines, r.FleetNines)
		}
	}

	// The same fleet when a whole 20 TB drive fails and the fleet rebuilds
	// its members at 1 GB/s in all: a member waits 2.8 hours on average
	// for its turn (see Inputs.RepairBytesPerSecond). Every scheme loses
	// nines; RS(6,3) stays well ahead of R3.
	const driveBytes, fleetRate = 20e12, 1e9
	var loaded []Report
	for _, s := range []state.Scheme{state.Replication(3), state.RS(6, 3), state.LRC(12, 2, 2)} {
		in := typical(s)
		in.RepairBytesPerSecond = 2 * fleetRate * float64(in.MemberBytes) / driveBytes
		loaded = append(loaded, estimate(t, in))
	}
	t.Logf("the same, members rebuilt as a failed 20 TB drive is, at 1 GB/s in all:\n%s", Table(loaded...))
	if loaded[1].VolumeNines < loaded[0].VolumeNines+2 {
		t.Errorf("under load RS(6,3) has %.2f nines, R3 %.2f: want RS(6,3) 2 nines ahead at least", loaded[1].VolumeNines, loaded[0].VolumeNines)
	}
	for i := range loaded {
		if loaded[i].VolumeNines >= []Report{r3, rs, lrc}[i].VolumeNines {
			t.Errorf("%v: slower repair gave %.2f nines, not fewer than %.2f", loaded[i].Inputs.Scheme, loaded[i].VolumeNines, []Report{r3, rs, lrc}[i].VolumeNines)
		}
	}
}

// TestGraceIsNotWaitedAtTheLastMargin: two replicas are always at their
// last margin once one is lost, so the grace changes nothing; three
// replicas wait it out after the first loss only.
func TestGraceIsNotWaitedAtTheLastMargin(t *testing.T) {
	for _, tc := range []struct {
		scheme     state.Scheme
		graceCosts bool
	}{
		{state.Replication(2), false},
		{state.RS(6, 1), false},
		{state.Replication(3), true},
		{state.RS(6, 3), true},
	} {
		without, with := typical(tc.scheme), typical(tc.scheme)
		without.Grace = 0
		a, b := estimate(t, without), estimate(t, with)
		if tc.graceCosts != (b.MTTDLHours < a.MTTDLHours) {
			t.Errorf("%v: MTTDL %g hours with a grace, %g without: want the grace to cost %v", tc.scheme, b.MTTDLHours, a.MTTDLHours, tc.graceCosts)
		}
		last := b.States[b.Tolerates]
		if want := a.States[a.Tolerates].RepairTime; last.RepairTime != want {
			t.Errorf("%v: repair at the last margin takes %v with a grace, %v without", tc.scheme, last.RepairTime, want)
		}
		if b.Tolerates > 1 {
			if got, want := b.States[1].RepairTime-a.States[1].RepairTime, 15*time.Minute; got != want {
				t.Errorf("%v: the grace adds %v to the first repair, want %v", tc.scheme, got, want)
			}
		}
	}
}

// TestMoreProtectionMeansMoreNines: each step along one input — parity,
// replicas, AFR, repair rate, grace, volumes — moves the nines the way
// an operator expects, strictly.
func TestMoreProtectionMeansMoreNines(t *testing.T) {
	type step func(*Inputs, int)
	for _, tc := range []struct {
		name  string
		base  state.Scheme
		apply step
		fleet bool // compare fleet nines rather than one volume's
	}{
		{"more parity", state.RS(6, 1), func(in *Inputs, i int) { in.Scheme = state.RS(6, 1+i) }, false},
		{"more replicas", state.Replication(1), func(in *Inputs, i int) { in.Scheme = state.Replication(1 + i) }, false},
		{"more global parity", state.LRC(12, 2, 1), func(in *Inputs, i int) { in.Scheme = state.LRC(12, 2, 1+i) }, false},
		{"lower AFR", state.RS(6, 3), func(in *Inputs, i int) { in.AFR = 0.2 / math.Pow(2, float64(i)) }, false},
		{"faster repair", state.Replication(3), func(in *Inputs, i int) { in.RepairBytesPerSecond = 1e5 * math.Pow(4, float64(i)) }, false},
		{"shorter grace", state.RS(6, 3), func(in *Inputs, i int) { in.Grace = time.Duration(4-i) * time.Hour }, false},
		{"fewer volumes", state.RS(6, 3), func(in *Inputs, i int) { in.Volumes = 1e9 / int(math.Pow(10, float64(i))) }, true},
	} {
		prev := math.Inf(-1)
		for i := range 4 {
			in := typical(tc.base)
			tc.apply(&in, i)
			in.MemberBytes = MemberBytes(in.Scheme, gib)
			r := estimate(t, in)
			n := r.VolumeNines
			if tc.fleet {
				n = r.FleetNines
			}
			if !(n > prev) {
				t.Errorf("%s, step %d (%v): %.4f nines, not more than %.4f", tc.name, i, in.Scheme, n, prev)
			}
			prev = n
		}
	}
}

// TestNinesNeverGetWorseWithBetterInputs is the property behind the table
// above, over random valid inputs: better drives, faster repair, a
// shorter grace, one more parity or replica, or fewer volumes never cost a
// nine (floating point rounding is monotone, so ≥ holds exactly).
func TestNinesNeverGetWorseWithBetterInputs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s state.Scheme
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			s = state.Replication(rapid.IntRange(1, state.MaxReplicas-1).Draw(t, "replicas"))
		case 1:
			s = state.RS(rapid.IntRange(1, 20).Draw(t, "k"), rapid.IntRange(1, 6).Draw(t, "m"))
		default:
			l := rapid.IntRange(1, 4).Draw(t, "l")
			s = state.LRC(l*rapid.IntRange(1, 4).Draw(t, "k/l"), l, rapid.IntRange(1, 4).Draw(t, "m"))
		}
		in := Inputs{
			Scheme:               s,
			AFR:                  rapid.Float64Range(1e-4, 0.5).Draw(t, "afr"),
			MemberBytes:          rapid.Uint64Range(1<<20, 16<<30).Draw(t, "member bytes"),
			RepairBytesPerSecond: math.Pow(10, rapid.Float64Range(5, 10).Draw(t, "log10 rate")),
			Grace:                time.Duration(rapid.Int64Range(0, int64(24*time.Hour)).Draw(t, "grace")),
			Volumes:              rapid.IntRange(1, 1e9).Draw(t, "volumes"),
		}
		base := estimate(t, in)
		better := map[string]Inputs{}
		b := in
		b.AFR /= 2
		better["half the AFR"] = b
		b = in
		b.RepairBytesPerSecond *= 2
		better["twice the repair rate"] = b
		b = in
		b.Grace /= 2
		better["half the grace"] = b
		b = in
		b.Volumes = max(1, in.Volumes/2)
		better["half the volumes"] = b
		b = in
		switch s.Kind {
		case state.Replicated:
			b.Scheme.Replicas++
		default:
			b.Scheme.Parity++
		}
		better["one more replica or parity"] = b
		for what, b := range better {
			r := estimate(t, b)
			if r.VolumeNines < base.VolumeNines || r.FleetNines < base.FleetNines {
				t.Fatalf("%s: %v nines per volume %.6f → %.6f, fleet %.6f → %.6f", what, in.Scheme, base.VolumeNines, r.VolumeNines, base.FleetNines, r.FleetNines)
			}
		}
	})
}

// TestTinyProbabilitiesKeepTheirDigits: 1 − (1 − P1)^V computed naively
// is 0 for P1 below 1e-16; the fleet probability must be V·P1 to full
// precision instead, and the nines finite.
func TestTinyProbabilitiesKeepTheirDigits(t *testing.T) {
	in := typical(state.RS(6, 3))
	r := estimate(t, in)
	if !(r.PerVolume > 0 && r.PerVolume < 1e-16) {
		t.Fatalf("RS(6,3) typical loss %g a year: the test wants it below 1e-16", r.PerVolume)
	}
	if naive := 1 - math.Pow(1-r.PerVolume, float64(in.Volumes)); naive != 0 {
		t.Logf("naive formula gives %g (the test expected it to round to 0)", naive)
	}
	if want := float64(in.Volumes) * r.PerVolume; relErr(r.Fleet, want) > 1e-9 {
		t.Errorf("fleet %g, want V·P1 = %g", r.Fleet, want)
	}
	if want := 8760 / r.MTTDLHours; relErr(r.PerVolume, want) > 1e-12 {
		t.Errorf("one volume %g, want 8760/MTTDL = %g", r.PerVolume, want)
	}
	if math.IsInf(r.VolumeNines, 0) || r.VolumeNines < 16 {
		t.Errorf("one volume has %v nines, want finite and above 16", r.VolumeNines)
	}

	// Drives so good that the MTTDL leaves float64: no loss, infinite
	// nines, and the report still prints.
	in.AFR = 1e-300
	r = estimate(t, in)
	if r.PerVolume != 0 || r.Fleet != 0 || !math.IsInf(r.VolumeNines, 1) || !math.IsInf(r.FleetNines, 1) {
		t.Errorf("AFR 1e-300: P %g / %g, nines %v / %v; want 0 and +Inf", r.PerVolume, r.Fleet, r.VolumeNines, r.FleetNines)
	}
	if s := r.String(); !strings.Contains(s, "∞ nines") {
		t.Errorf("AFR 1e-300 report does not show infinite nines:\n%s", s)
	}
}

// TestCertainLossHasNoNines: drives that nearly all fail within the year,
// a single copy and a large fleet: loss is certain and the nines are 0,
// not negative or NaN.
func TestCertainLossHasNoNines(t *testing.T) {
	in := typical(state.Replication(1))
	in.AFR = 0.99
	r := estimate(t, in)
	if r.Fleet != 1 || r.FleetNines != 0 {
		t.Errorf("fleet P %v with %v nines, want 1 and 0", r.Fleet, r.FleetNines)
	}
	if want := -math.Log10(0.99); relErr(r.PerVolume, 0.99) > 1e-12 || relErr(r.VolumeNines, want) > 1e-9 {
		t.Errorf("one volume P %v with %v nines, want 0.99 and %v", r.PerVolume, r.VolumeNines, want)
	}
	if got, want := r.VolumesLostPerYear, float64(in.Volumes)*-math.Log(0.01); relErr(got, want) > 1e-12 {
		t.Errorf("%g volumes lost a year, want %g", got, want)
	}
}

func TestNines(t *testing.T) {
	for _, tc := range []struct{ p, want float64 }{
		{1e-11, 11}, {0.5, math.Log10(2)}, {1, 0}, {2, 0}, {0, math.Inf(1)}, {-1, math.Inf(1)},
		{5e-324, 323.3062153431158},
	} {
		if got := Nines(tc.p); got != tc.want && relErr(got, tc.want) > 1e-15 {
			t.Errorf("Nines(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(Nines(math.NaN())) {
		t.Errorf("Nines(NaN) is not NaN")
	}
	// Shown truncated: 10.96 nines are 10.9, never 11.0.
	for _, tc := range []struct {
		n    float64
		want string
	}{{10.96, "10.9"}, {11, "11.0"}, {15.3, "15.3"}, {0, "0.0"}, {math.Inf(1), "∞"}} {
		if got := formatNines(tc.n); got != tc.want {
			t.Errorf("formatNines(%v) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestEstimateRejectsBadInputs(t *testing.T) {
	good := typical(state.RS(6, 3))
	for _, tc := range []struct {
		name   string
		change func(*Inputs)
		want   string
	}{
		{"AFR 0", func(in *Inputs) { in.AFR = 0 }, "AFR is 0: give the annual probability a drive fails, strictly between 0 and 1"},
		{"AFR 1", func(in *Inputs) { in.AFR = 1 }, "AFR is 1:"},
		{"AFR as a percentage", func(in *Inputs) { in.AFR = 2 }, "(0.02 for 2%)"},
		{"AFR NaN", func(in *Inputs) { in.AFR = math.NaN() }, "AFR is NaN"},
		{"no repair", func(in *Inputs) { in.RepairBytesPerSecond = 0 }, "RepairBytesPerSecond is 0: give the positive rate, in bytes per second"},
		{"infinite repair", func(in *Inputs) { in.RepairBytesPerSecond = math.Inf(1) }, "RepairBytesPerSecond is +Inf"},
		{"rate in the wrong unit", func(in *Inputs) { in.RepairBytesPerSecond = 1 }, "more than a year: RepairBytesPerSecond is bytes per second, check its unit"},
		{"no member bytes", func(in *Inputs) { in.MemberBytes = 0 }, "MemberBytes is 0: give the size of one replica or shard"},
		{"negative grace", func(in *Inputs) { in.Grace = -time.Minute }, "Grace is -1m0s: give the repair grace period, 0 or more"},
		{"no volumes", func(in *Inputs) { in.Volumes = 0 }, "Volumes is 0: give the number of volumes of this scheme in the fleet, at least 1"},
		{"negative drives", func(in *Inputs) { in.Drives = -1 }, "Drives is -1"},
		{"too few drives", func(in *Inputs) { in.Drives = 8 }, "Drives is 8 but a volume of RS(6,3) needs 9 drives"},
		{"no scheme", func(in *Inputs) { in.Scheme = state.Scheme{} }, `scheme kind "" is unknown: use state.Replication(n), state.RS(k,m) or state.LRC(k,l,m)`},
		{"no parity", func(in *Inputs) { in.Scheme = state.RS(6, 0) }, "need at least one data and one parity shard"},
		{"uneven groups", func(in *Inputs) { in.Scheme = state.LRC(12, 5, 2) }, "the local groups must divide the data shards evenly"},
		{"too many replicas", func(in *Inputs) { in.Scheme = state.Replication(state.MaxReplicas + 1) }, "replicas must be 1 to 8"},
		{"too wide", func(in *Inputs) { in.Scheme = state.RS(30, 3) }, "33 shards, the limit is 32"},
	} {
		in := good
		tc.change(&in)
		_, err := Estimate(in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "durability: ") {
			t.Errorf("%s: error %q does not say it comes from durability", tc.name, err)
		}
	}

	// Every problem is reported at once, one per line.
	_, err := Estimate(Inputs{Scheme: state.RS(6, 3)})
	if err == nil {
		t.Fatal("empty inputs accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"AFR", "MemberBytes", "RepairBytesPerSecond", "Volumes"} {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, want)
		}
		if !found {
			t.Errorf("empty inputs: error does not name %s:\n%v", want, err)
		}
	}
	if len(lines) != 4 {
		t.Errorf("empty inputs: %d problems reported, want 4:\n%v", len(lines), err)
	}
}

func TestMemberBytes(t *testing.T) {
	for _, tc := range []struct {
		scheme state.Scheme
		volume uint64
		want   uint64
	}{
		{state.Replication(3), gib, gib},
		{state.RS(6, 3), gib, 178956971}, // 1 GiB/6 rounded up
		{state.RS(4, 2), gib, gib / 4},
		{state.LRC(12, 2, 2), gib, 89478486},
		{state.RS(6, 3), 0, 0},
		{state.RS(6, 3), 1, 1},
	} {
		if got := MemberBytes(tc.scheme, tc.volume); got != tc.want {
			t.Errorf("MemberBytes(%v, %d) = %d, want %d", tc.scheme, tc.volume, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatBytes(gib), "1 GiB"},
		{formatBytes(MemberBytes(state.RS(6, 3), gib)), "170.7 MiB"},
		{formatBytes(512), "512 B"},
		{formatRate(100e6), "100 MB/s"},
		{formatRate(17.9e3), "17.9 kB/s"},
		{formatCount(1_000_000), "1,000,000"},
		{formatCount(999), "999"},
		{formatCount(-1234), "-1,234"},
		{formatDuration(15*time.Minute + 1789569706), "15m1.8s"},
		{formatDuration(1500 * time.Microsecond), "2ms"},
		{formatPercent(0.02), "2%"},
		{formatYears(math.Inf(1)), "∞ years"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
