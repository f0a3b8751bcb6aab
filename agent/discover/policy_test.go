package discover_test

import (
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/zoned"
)

func TestPolicyAllows(t *testing.T) {
	smr := smrDrive()
	conv := smrDrive()
	conv.Zoned = zoned.ModelNone
	tests := []struct {
		name   string
		policy discover.Policy
		drive  discover.Drive
		rule   string // "" for not allowed
	}{
		{"nothing", discover.Policy{}, smr, ""},
		{"wwn-naa", discover.Policy{AllowWWNs: []string{"naa.5000CCA2A1B2C3D4"}}, smr, "wwn 0x5000cca2a1b2c3d4"},
		{"wwn-by-id", discover.Policy{AllowWWNs: []string{"wwn-0x5000cca2a1b2c3d4"}}, smr, "wwn 0x5000cca2a1b2c3d4"},
		{"wwn-other", discover.Policy{AllowWWNs: []string{"0x5000cca2a1b2c3d5"}}, smr, ""},
		{"serial", discover.Policy{AllowSerials: []string{" 9JG1ABCD "}}, smr, "serial 9JG1ABCD"},
		{"serial-case-matters", discover.Policy{AllowSerials: []string{"9jg1abcd"}}, smr, ""},
		{"model-glob", discover.Policy{AllowModels: []string{"hgst hsh72*"}}, smr, "model hgst hsh72*"},
		{"model-glob-other", discover.Policy{AllowModels: []string{"ST*"}}, smr, ""},
		{"all-zoned", discover.Policy{AllowAllZoned: true}, smr, "all zoned"},
		{"all-zoned-not-conventional", discover.Policy{AllowAllZoned: true}, conv, ""},
		{"conventional-by-wwn", discover.Policy{AllowWWNs: []string{"0x5000cca2a1b2c3d4"}}, conv, "wwn 0x5000cca2a1b2c3d4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule, ok := tc.policy.Allows(tc.drive)
			if rule != tc.rule || ok != (tc.rule != "") {
				t.Fatalf("Allows = %q, %v; want %q", rule, ok, tc.rule)
			}
		})
	}
}

func TestPolicyForced(t *testing.T) {
	d := smrDrive()
	for _, f := range []string{"0x5000cca2a1b2c3d4", "naa.5000cca2a1b2c3d4", "9JG1ABCD", "wwn-0x5000cca2a1b2c3d4"} {
		if !(discover.Policy{Force: []string{"", f}}).Forced(d) {
			t.Errorf("Force %q does not match %s", f, d)
		}
	}
	for _, f := range []string{"sdb", "/dev/sdb", "9JG1ABC", "HGST HSH721414ALE6M0", ""} {
		if (discover.Policy{Force: []string{f}}).Forced(d) {
			t.Errorf("Force %q matches %s", f, d)
		}
	}
	noWWN := d
	noWWN.WWN, noWWN.ID = "", "serial-HGST_HSH721414ALE6M0_9JG1ABCD"
	if !(discover.Policy{Force: []string{"serial-HGST_HSH721414ALE6M0_9JG1ABCD"}}).Forced(noWWN) {
		t.Error("Force by ID does not match")
	}
}

func TestPolicyValidate(t *testing.T) {
	good := discover.Policy{Cluster: thisCluster, AllowWWNs: []string{"0x5000cca2a1b2c3d4", "eui.0025388b91b1c6a0"},
		AllowSerials: []string{"ZA1234"}, AllowModels: []string{"HGST HSH72*"}, Force: []string{"ZA1234"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy discover.Policy
		says   string
	}{
		{"no-cluster", discover.Policy{AllowAllZoned: true}, "no cluster id"},
		{"dev-path", discover.Policy{Cluster: thisCluster, AllowWWNs: []string{"/dev/sdb"}}, `"/dev/sdb" is a kernel device name`},
		{"kernel-name-forced", discover.Policy{Cluster: thisCluster, Force: []string{"nvme0n1"}}, `forced drives: "nvme0n1" is a kernel device name`},
		{"kernel-name-serial", discover.Policy{Cluster: thisCluster, AllowSerials: []string{"sdc"}}, "ls -l /dev/disk/by-id/"},
		{"not-a-wwn", discover.Policy{Cluster: thisCluster, AllowWWNs: []string{"5000c5"}}, `"5000c5" is not a WWN`},
		{"bad-glob", discover.Policy{Cluster: thisCluster, AllowModels: []string{"HGST[*"}}, `"HGST[*" is not a valid glob`},
		{"empty", discover.Policy{Cluster: thisCluster, AllowSerials: []string{" "}}, "allowed serials: an empty entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "discover: claim policy: ") {
				t.Fatalf("Validate = %v, want an error saying %q", err, tc.says)
			}
		})
	}
	// Every problem is reported at once.
	err := discover.Policy{AllowWWNs: []string{"sda"}, AllowModels: []string{"["}}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want three problems on three lines: %v", err)
	}
}
