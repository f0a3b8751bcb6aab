package durability

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// String prints the report for people, as `fleetctl durability` shows one
// scheme: the inputs as the model reads them, the chain's states, and the
// annual probabilities of loss with their nines.
func (r Report) String() string {
	in := r.Inputs
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d members, any %d may be lost\n", in.Scheme, r.Members, r.Tolerates)
	fmt.Fprintf(&b, "drive AFR %s: %.4g failures per drive-hour\n", formatPercent(in.AFR), r.FailuresPerDriveHour)
	fmt.Fprintf(&b, "one %s member rebuilt at %s in %s, after a grace of %s (none at the last margin)\n",
		formatBytes(in.MemberBytes), formatRate(in.RepairBytesPerSecond),
		formatDuration(hoursToDuration(in.rebuildHours())), formatDuration(in.Grace))
	b.WriteString("\n")

	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "lost\trepair time\tP(lost before whole again)")
	for _, s := range r.States {
		repair, loss := "-", "-"
		if s.Lost > 0 {
			repair, loss = formatDuration(s.RepairTime), formatProbability(s.LossBeforeHealthy)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\n", s.Lost, repair, loss)
	}
	fmt.Fprintf(w, "%d\tdata lost\n", r.Tolerates+1)
	w.Flush()
	b.WriteString("\n")

	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "MTTDL\t%s\n", formatYears(r.MTTDLHours))
	fmt.Fprintf(w, "one volume\tP(loss in a year) %s\t%s nines\n", formatProbability(r.PerVolume), formatNines(r.VolumeNines))
	fmt.Fprintf(w, "%s volumes\tP(loss in a year) %s\t%s nines, %s volumes lost a year\n",
		formatCount(in.Volumes), formatProbability(r.Fleet), formatNines(r.FleetNines), formatProbability(r.VolumesLostPerYear))
	if in.Drives > 0 {
		fmt.Fprintf(w, "%s drives\t%.3g drive failures a year\n", formatCount(in.Drives), r.DriveFailuresPerYear)
	}
	w.Flush()
	return b.String()
}

// Table prints one line per report, to compare schemes (or the same scheme
// under other inputs) side by side: the repair time with the grace and at
// the last margin, the MTTDL, and the annual probability of loss and nines
// of one volume and of the fleet's volumes.
func Table(reports ...Report) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scheme\tn\tf\trepair\tat last margin\tMTTDL\tP(volume)\tnines\tvolumes\tP(fleet)\tnines")
	for _, r := range reports {
		first, last := "-", "-"
		if r.Tolerates > 0 {
			first = formatDuration(r.States[1].RepairTime)
			last = formatDuration(r.States[r.Tolerates].RepairTime)
		}
		fmt.Fprintf(w, "%v\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Inputs.Scheme, r.Members, r.Tolerates, first, last, formatYears(r.MTTDLHours),
			formatProbability(r.PerVolume), formatNines(r.VolumeNines),
			formatCount(r.Inputs.Volumes), formatProbability(r.Fleet), formatNines(r.FleetNines))
	}
	w.Flush()
	return b.String()
}

// formatNines truncates to one decimal, so that 10.96 nines show as 10.9,
// never as 11.0: a durability figure must not round up.
func formatNines(n float64) string {
	if math.IsInf(n, 1) {
		return "∞"
	}
	return strconv.FormatFloat(math.Floor(n*10+1e-9)/10, 'f', 1, 64)
}

// formatProbability prints two significant digits: 2.4e-20, 0.0031, 1.
func formatProbability(p float64) string {
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// formatPercent prints an AFR as people quote it: 2%, 1.37%.
func formatPercent(p float64) string {
	return strconv.FormatFloat(p*100, 'g', 3, 64) + "%"
}

// formatYears prints hours as years, two significant digits.
func formatYears(hours float64) string {
	if math.IsInf(hours, 1) {
		return "∞ years"
	}
	return strconv.FormatFloat(hours/hoursPerYear, 'g', 2, 64) + " years"
}

// formatDuration rounds to a tenth of a second (a millisecond below one
// second), enough for repair times and short enough to read.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// formatBytes prints a size in binary units, as members are sized: 1 GiB,
// 170.7 MiB.
func formatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " " + units[u]
}

// formatRate prints a rate in decimal units, as drive and network rates
// are quoted: 100 MB/s.
func formatRate(bps float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}
	u := 0
	for bps >= 1000 && u < len(units)-1 {
		bps /= 1000
		u++
	}
	return strconv.FormatFloat(bps, 'g', 3, 64) + " " + units[u]
}

// formatCount prints an integer with thousands separators: 1,000,000.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
