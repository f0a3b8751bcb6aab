package erasure

import (
	"slices"
	"strings"
	"testing"
)

func TestParseSchemeRoundTrips(t *testing.T) {
	for _, text := range []string{"RS(6,3)", "RS(1,1)", "RS(10,4)", "LRC(12,2,2)", "LRC(6,3,1)", "RS(128,128)"} {
		s, err := ParseScheme(text)
		if err != nil {
			t.Fatalf("ParseScheme(%q): %v", text, err)
		}
		if s.String() != text {
			t.Errorf("ParseScheme(%q).String() = %q", text, s.String())
		}
	}
	if s, _ := ParseScheme("LRC(12,2,2)"); s != LRC(12, 2, 2) || s.Width() != 16 || s.GroupSize() != 6 {
		t.Errorf("LRC(12,2,2) parsed as %+v, width %d, group size %d", s, s.Width(), s.GroupSize())
	}
	if s, _ := ParseScheme("RS(6,3)"); s != DefaultScheme || s.Width() != 9 {
		t.Errorf("RS(6,3) parsed as %+v, width %d", s, s.Width())
	}
}

func TestParseSchemeRejects(t *testing.T) {
	for text, why := range map[string]string{
		"":              "write RS(<k>,<m>)",
		"R3":            "write RS(<k>,<m>)",
		"RS(6, 3)":      "write RS(<k>,<m>)",
		"rs(6,3)":       "write RS(<k>,<m>)",
		"RS(6,3,1)":     "write RS(<k>,<m>)",
		"RS(1000,3)":    "write RS(<k>,<m>)",
		"RS(0,3)":       "at least one data and one parity",
		"RS(6,0)":       "at least one data and one parity",
		"LRC(12,0,2)":   "at least one local group",
		"LRC(12,5,2)":   "do not divide 12 data shards evenly",
		"LRC(200,50,7)": "257 shards; the most is 256",
		"RS(200,57)":    "257 shards; the most is 256",
	} {
		_, err := ParseScheme(text)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseScheme(%q) = %v, want an error saying %q", text, err, why)
		}
	}
	if err := (Scheme{Kind: ReedSolomon, Data: 6, LocalGroups: 2, Parity: 3}).Validate(); err == nil {
		t.Error("RS with local groups validated")
	}
	if err := (Scheme{}).Validate(); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("zero scheme: %v", err)
	}
}

func TestGroups(t *testing.T) {
	s := LRC(12, 2, 2)
	if got := s.GroupMembers(1); !slices.Equal(got, []int{6, 7, 8, 9, 10, 11, 13}) {
		t.Errorf("group 1 = %v", got)
	}
	for i, want := range []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, -1, -1} {
		if got := s.Group(i); got != want {
			t.Errorf("Group(%d) = %d, want %d", i, got, want)
		}
	}
	if RS(6, 3).Group(0) != -1 {
		t.Error("an RS shard has a group")
	}
}
