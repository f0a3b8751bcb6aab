package firmware

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeCatalog writes manifests (file name -> text) into a new directory.
func writeCatalog(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadRefusesBadManifests checks that a manifest that cannot be
// trusted is refused with its file and what to fix.
func TestLoadRefusesBadManifests(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no manifests", map[string]string{"README.md": "x"}, "no firmware manifests"},
		{"an unknown key", map[string]string{"a.yaml": "model: m\ntarget: 1\ntargte: 2\n"}, "field targte not found"},
		{"no model", map[string]string{"a.yaml": "target: 1\n"}, "model is empty"},
		{"no target", map[string]string{"a.yaml": "model: m\n"}, "target is empty"},
		{"a bad target", map[string]string{"a.yaml": "model: m\ntarget: '1'\nbad: [{revision: '1', reason: r}]\n"}, `target "1" is also listed as bad`},
		{"a bad revision without a revision", map[string]string{"a.yaml": "model: m\ntarget: '1'\nbad: [{reason: r}]\n"}, "has no revision"},
		{"a bad checksum", map[string]string{"a.yaml": "model: m\ntarget: '1'\nsha256: abc\n"}, "not 64 hex digits"},
		{"a bad glob", map[string]string{"a.yaml": "model: 'm['\ntarget: '1'\n"}, "not a valid glob"},
		{"one model twice", map[string]string{"a.yaml": "model: M\ntarget: '1'\n", "b.yaml": "model: m\ntarget: '2'\n"}, "covered by"},
	} {
		_, err := Load(writeCatalog(t, c.files))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestTheShippedCatalogLoads loads firmware/catalog, which the development
// cluster's drives are assessed against.
func TestTheShippedCatalogLoads(t *testing.T) {
	cat, err := Load("catalog")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := cat.Find("emulated"); !ok || m.Target != "EMU1" {
		t.Errorf("the catalog's manifest for emulated drives: %+v, %v", m, ok)
	}
}

// testCatalog covers an SMR model by glob and an NVMe model exactly.
func testCatalog(t *testing.T) Catalog {
	t.Helper()
	cat, err := Load(writeCatalog(t, map[string]string{
		"hgst.yaml": "model: 'HGST HSH7214*'\ntarget: W07G\nbad:\n  - revision: W02G\n    reason: drops writes after a power loss\n",
		"wd.yaml":   "model: WUS4BB096D7P3E3\ntarget: R2110021\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestAssess checks each status: current, outdated, bad (with the
// catalog's reason), unknown for a model no manifest covers or a drive
// with no revision; worst first; retired drives left out.
func TestAssess(t *testing.T) {
	cat := testCatalog(t)
	got := cat.Assess([]Drive{
		{ID: "a", Rack: "r1", State: "in_service", Model: "HGST HSH721414ALE6M0", Firmware: "W07G"},
		{ID: "b", Rack: "r1", State: "in_service", Model: "hgst hsh721414ale6m0", Firmware: "W05G"},
		{ID: "c", Rack: "r2", State: "in_service", Model: "HGST HSH721414ALE6M0", Firmware: "W02G"},
		{ID: "d", Rack: "r2", State: "in_service", Model: "ST8000AS0002", Firmware: "AR13"},
		{ID: "e", Rack: "r2", State: "in_service", Model: "WUS4BB096D7P3E3", Firmware: ""},
		{ID: "f", Rack: "r2", State: "retired", Model: "WUS4BB096D7P3E3", Firmware: "R1"},
	})
	var summary []string
	for _, a := range got {
		summary = append(summary, a.ID+"="+string(a.Status)+"/"+a.Target)
	}
	if want := []string{"c=bad/W07G", "b=outdated/W07G", "d=unknown/", "e=unknown/R2110021", "a=current/W07G"}; !reflect.DeepEqual(summary, want) {
		t.Fatalf("got %v, want %v", summary, want)
	}
	if got[0].Reason != "drops writes after a power loss" || !strings.Contains(got[2].Reason, `no manifest covers model "ST8000AS0002"`) ||
		!strings.Contains(got[3].Reason, "no firmware revision") {
		t.Errorf("reasons: %q, %q, %q", got[0].Reason, got[2].Reason, got[3].Reason)
	}
}

// TestPlanKeepsRacksServing plans a rollout over three racks with one
// drive per rack out at a time: a canary first (a bad revision), then
// waves of at most one drive per rack, bad revisions before outdated
// ones; a rack with a drive out already is held, and a drive already
// current or out of service is in no wave.
func TestPlanKeepsRacksServing(t *testing.T) {
	cat := testCatalog(t)
	const model = "HGST HSH721414ALE6M0"
	var drives []Drive
	add := func(id, rack, state, fw string) {
		drives = append(drives, Drive{ID: id, Host: rack + "-h", Rack: rack, State: state, Model: model, Firmware: fw})
	}
	add("r1a", "r1", "in_service", "W05G")
	add("r1b", "r1", "in_service", "W02G")
	add("r1c", "r1", "suspect", "W05G")
	add("r2a", "r2", "in_service", "W05G")
	add("r2b", "r2", "in_service", "W07G")
	add("r2c", "r2", "drained", "W05G")
	add("r3a", "r3", "in_service", "W02G")
	add("r3b", "r3", "in_service", "W05G")
	add("r4a", "r4", "in_service", "W05G")
	add("r4b", "r4", "failed", "W07G")
	add("r5a", "r5", "in_service", "W05G")
	add("r5b", "r5", "provisioning", "W07G") // flashed, not serving yet

	waves, held := Plan(cat.Assess(drives), Options{PerRack: 1, Canary: 1})
	var got [][]string
	for _, w := range waves {
		var ids []string
		for _, a := range w {
			ids = append(ids, a.ID)
		}
		got = append(got, ids)
	}
	want := [][]string{{"r1b"}, {"r3a", "r1a"}, {"r1c", "r3b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("waves %v, want %v", got, want)
	}
	wantHeld := []Held{{Rack: "r2", Out: 1, Waiting: 1}, {Rack: "r4", Out: 1, Waiting: 1}, {Rack: "r5", Out: 1, Waiting: 1}}
	if !reflect.DeepEqual(held, wantHeld) {
		t.Errorf("held %+v, want %+v", held, wantHeld)
	}

	// Two per rack: r2 and r4 have room for one each.
	waves, held = Plan(cat.Assess(drives), Options{PerRack: 2})
	got = nil
	for _, w := range waves {
		var ids []string
		for _, a := range w {
			ids = append(ids, a.ID)
		}
		got = append(got, ids)
	}
	want = [][]string{{"r1b", "r3a", "r1a", "r2a", "r3b", "r4a", "r5a"}, {"r1c"}}
	if !reflect.DeepEqual(got, want) || len(held) != 0 {
		t.Errorf("two per rack: waves %v, held %+v; want %v and none held", got, held, want)
	}
}
