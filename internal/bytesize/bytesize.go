// Package bytesize reads and writes byte counts the way operators type
// them: 4GiB, 512MiB, 1073741824.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// units are the binary suffixes understood, largest first.
var units = []struct {
	suffix string
	mult   uint64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// Parse reads a byte count: a whole number with an optional suffix B,
// KiB, MiB, GiB or TiB. Zero is allowed; callers that need a positive
// size check it.
func Parse(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > (1<<63)/mult {
		return 0, fmt.Errorf("%q is not a size: write a number of bytes, or one with KiB, MiB, GiB or TiB (4GiB, 512MiB)", s)
	}
	return n * mult, nil
}

// Format writes n with the largest binary suffix that keeps one decimal
// place meaningful: 1.5 GiB, 64 MiB, 512 B.
func Format(n uint64) string {
	for _, u := range units[:4] {
		if n >= u.mult {
			v := float64(n) / float64(u.mult)
			if v == float64(uint64(v)) {
				return fmt.Sprintf("%d %s", uint64(v), u.suffix)
			}
			return fmt.Sprintf("%.1f %s", v, u.suffix)
		}
	}
	return fmt.Sprintf("%d B", n)
}
