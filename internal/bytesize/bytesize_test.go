package bytesize

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "4096": 4096, "4GiB": 4 << 30, "512MiB": 512 << 20, "16 KiB": 16 << 10, "3B": 3, "2TiB": 2 << 40} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "4GB", "1.5GiB", "99999999999TiB"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 512: "512 B", 1 << 20: "1 MiB", 3 << 29: "1.5 GiB", 64 << 20: "64 MiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
