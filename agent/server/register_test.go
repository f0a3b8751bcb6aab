package server

import (
	"log/slog"
	"testing"
)

// TestRegisterGivesEveryDriveASlotOfItsOwn registers drives whose
// discovered slots are empty or shared (two paths discovery could not
// tell apart): each goes to fleetd with a slot no other drive of the host
// has, so that fleetd does not refuse one for another's slot.
func TestRegisterGivesEveryDriveASlotOfItsOwn(t *testing.T) {
	hd := openHealthDrives(t, 4)
	var list []*Drive
	for i, d := range hd {
		d.Slot = []string{"pci-0000:00:17.0-ata-1", "pci-0000:00:17.0-ata-1", "", "pci-0000:3c:00.0-nvme-1"}[i]
		list = append(list, d.Drive)
	}
	ds, err := newDrives(list)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistrar(Fleet{Addr: "127.0.0.1:1"}, nil, ds, slog.New(slog.DiscardHandler))
	seen := map[string]string{}
	for _, d := range r.registerRequest().GetDrives() {
		if d.GetSlot() == "" {
			t.Errorf("drive %s is registered without a slot", d.GetId())
		}
		if other, ok := seen[d.GetSlot()]; ok {
			t.Errorf("drives %s and %s are registered in one slot, %q", other, d.GetId(), d.GetSlot())
		}
		seen[d.GetSlot()] = d.GetId()
	}
	if len(seen) != 4 {
		t.Fatalf("%d drives registered, want 4", len(seen))
	}
	for _, want := range []string{"pci-0000:00:17.0-ata-1", "pci-0000:3c:00.0-nvme-1"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("no drive registered in its discovered slot %q: %v", want, seen)
		}
	}
}
