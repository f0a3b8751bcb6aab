package smart_test

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

// smartctlReport is the part of `smartctl -j -a` output (smartmontools 7,
// JSON format version 1) that the package's readings are checked against.
type smartctlReport struct {
	Smartctl struct {
		ExitStatus int `json:"exit_status"`
		Messages   []struct {
			String   string `json:"string"`
			Severity string `json:"severity"`
		} `json:"messages"`
	} `json:"smartctl"`
	Device struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Protocol string `json:"protocol"`
	} `json:"device"`
	ModelName       string `json:"model_name"`
	SerialNumber    string `json:"serial_number"`
	FirmwareVersion string `json:"firmware_version"`
	Temperature     *struct {
		Current *int `json:"current"`
	} `json:"temperature"`
	ATASmartAttributes *struct {
		Table []smartctlAttribute `json:"table"`
	} `json:"ata_smart_attributes"`
	NVMeHealth *smartctlNVMeLog `json:"nvme_smart_health_information_log"`
}

type smartctlAttribute struct {
	ID         uint8  `json:"id"`
	Name       string `json:"name"`
	Value      uint8  `json:"value"`
	Worst      uint8  `json:"worst"`
	Thresh     *uint8 `json:"thresh"`
	WhenFailed string `json:"when_failed"`
	Flags      struct {
		Value uint16 `json:"value"`
	} `json:"flags"`
	Raw struct {
		Value  uint64 `json:"value"`
		String string `json:"string"`
	} `json:"raw"`
}

type smartctlNVMeLog struct {
	CriticalWarning         uint8  `json:"critical_warning"`
	Temperature             int    `json:"temperature"`
	AvailableSpare          uint8  `json:"available_spare"`
	AvailableSpareThreshold uint8  `json:"available_spare_threshold"`
	PercentageUsed          uint8  `json:"percentage_used"`
	DataUnitsRead           uint64 `json:"data_units_read"`
	DataUnitsWritten        uint64 `json:"data_units_written"`
	HostReads               uint64 `json:"host_reads"`
	HostWrites              uint64 `json:"host_writes"`
	ControllerBusyTime      uint64 `json:"controller_busy_time"`
	PowerCycles             uint64 `json:"power_cycles"`
	PowerOnHours            uint64 `json:"power_on_hours"`
	UnsafeShutdowns         uint64 `json:"unsafe_shutdowns"`
	MediaErrors             uint64 `json:"media_errors"`
	NumErrLogEntries        uint64 `json:"num_err_log_entries"`
	WarningTempTime         uint32 `json:"warning_temp_time"`
	CriticalCompTime        uint32 `json:"critical_comp_time"`
}

func parseSmartctl(data []byte) (smartctlReport, error) {
	var r smartctlReport
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decoding smartctl -j output: %w", err)
	}
	return r, nil
}

// compareSmartctl lists every difference between a sample and smartctl's
// report on the same drive: identity, kind, temperature, and for ATA every
// attribute (the same set of IDs; value, worst, threshold, raw value and
// flags of each; failing now or not), for NVMe every field of the health
// log. A report that lacks what it is compared on is a difference too.
func compareSmartctl(s smart.Sample, r smartctlReport) []string {
	var diffs []string
	diff := func(what string, got, want any) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s: read %v, smartctl %v", what, got, want))
		}
	}
	diff("model", s.Model, r.ModelName)
	diff("serial", s.Serial, r.SerialNumber)
	diff("firmware", s.Firmware, r.FirmwareVersion)

	g := s.Signals()
	switch {
	case r.Temperature == nil || r.Temperature.Current == nil:
		if g.HasTemperature {
			diffs = append(diffs, fmt.Sprintf("temperature: read %d °C, smartctl reports none", g.TemperatureC))
		}
	case !g.HasTemperature:
		diffs = append(diffs, fmt.Sprintf("temperature: read none, smartctl %d °C", *r.Temperature.Current))
	default:
		diff("temperature °C", g.TemperatureC, *r.Temperature.Current)
	}

	switch s.Kind {
	case smart.ATA:
		diff("protocol", "ATA", r.Device.Protocol)
		if r.ATASmartAttributes == nil {
			return append(diffs, "smartctl reports no ATA SMART attributes")
		}
		var ours, theirs []uint8
		for _, a := range s.ATA {
			ours = append(ours, a.ID)
		}
		for _, c := range r.ATASmartAttributes.Table {
			theirs = append(theirs, c.ID)
			a, ok := s.Attribute(c.ID)
			if !ok {
				continue
			}
			at := fmt.Sprintf("attribute %d (%s)", c.ID, c.Name)
			diff(at+" value", a.Value, c.Value)
			diff(at+" worst", a.Worst, c.Worst)
			if c.Thresh != nil {
				diff(at+" threshold", a.Threshold, *c.Thresh)
			} else if !s.ThresholdsUnavailable {
				diffs = append(diffs, at+": smartctl reports no threshold")
			}
			diff(at+" raw", a.Raw, c.Raw.Value)
			diff(at+" flags", a.Flags, c.Flags.Value)
			diff(at+" failing now", slices.Contains(g.FailingAttributes, c.ID), c.WhenFailed == "FAILING_NOW")
		}
		slices.Sort(theirs)
		diff("attribute IDs", fmt.Sprint(ours), fmt.Sprint(theirs))
	case smart.NVMe:
		diff("protocol", "NVMe", r.Device.Protocol)
		h, c := s.NVMe, r.NVMeHealth
		if c == nil {
			return append(diffs, "smartctl reports no NVMe health log")
		}
		diff("critical warning", uint8(h.CriticalWarning), c.CriticalWarning)
		diff("available spare", h.AvailableSpare, c.AvailableSpare)
		diff("available spare threshold", h.AvailableSpareThreshold, c.AvailableSpareThreshold)
		diff("percentage used", h.PercentageUsed, c.PercentageUsed)
		diff("data units read", h.DataUnitsRead, c.DataUnitsRead)
		diff("data units written", h.DataUnitsWritten, c.DataUnitsWritten)
		diff("host read commands", h.HostReadCommands, c.HostReads)
		diff("host write commands", h.HostWriteCommands, c.HostWrites)
		diff("controller busy minutes", h.ControllerBusyMinutes, c.ControllerBusyTime)
		diff("power cycles", h.PowerCycles, c.PowerCycles)
		diff("power-on hours", h.PowerOnHours, c.PowerOnHours)
		diff("unsafe shutdowns", h.UnsafeShutdowns, c.UnsafeShutdowns)
		diff("media errors", h.MediaErrors, c.MediaErrors)
		diff("error log entries", h.ErrorLogEntries, c.NumErrLogEntries)
		diff("warning temperature minutes", h.WarningTemperatureMinutes, c.WarningTempTime)
		diff("critical temperature minutes", h.CriticalTemperatureMinutes, c.CriticalCompTime)
		// The log's own temperature, in smartctl's °C.
		diff("health log temperature °C", int(h.TemperatureKelvin)-273, c.Temperature)
	default:
		diffs = append(diffs, fmt.Sprintf("sample of kind %q", s.Kind))
	}
	return diffs
}
