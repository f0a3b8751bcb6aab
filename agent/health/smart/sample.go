package smart

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is the command set a drive answers SMART queries in, which decides
// the part of a Sample that holds its readings.
type Kind string

// The kinds of drive whose SMART data a Reader returns.
const (
	// ATA is a SATA (or PATA) drive: a table of SMART attributes.
	ATA Kind = "ata"
	// NVMe is an NVMe controller: the SMART / Health Information log page.
	NVMe Kind = "nvme"
)

// Sample is one reading of a drive's SMART data, as the drive reported it.
// It is what a Reader returns and what the JSON files that Replay plays
// back hold. Sample.Signals derives the health signals from it.
type Sample struct {
	// Path is the device node the sample was read from, such as /dev/sda.
	Path string `json:"path,omitempty"`
	// Time is when the sample was read.
	Time time.Time `json:"time"`
	// Kind says whether ATA or NVMe holds the readings.
	Kind Kind `json:"kind"`

	// Model, Serial and Firmware identify the drive, from its IDENTIFY
	// data (ATA IDENTIFY DEVICE, NVMe Identify Controller).
	Model    string `json:"model,omitempty"`
	Serial   string `json:"serial,omitempty"`
	Firmware string `json:"firmware,omitempty"`

	// ATA is the drive's SMART attribute table in ascending order of ID,
	// for an ATA drive; nil for NVMe.
	ATA []Attribute `json:"ata,omitempty"`
	// ThresholdsUnavailable is true when an ATA drive did not return
	// its attribute thresholds (some drives answer SMART READ THRESHOLDS
	// with a page whose checksum is wrong). Every Threshold is then zero
	// and no attribute counts as failing.
	ThresholdsUnavailable bool `json:"thresholds_unavailable,omitempty"`

	// NVMe is the controller's SMART / Health Information log, for an
	// NVMe drive; nil for ATA.
	NVMe *NVMeHealth `json:"nvme,omitempty"`
}

// Attribute is one entry of an ATA drive's SMART attribute table.
type Attribute struct {
	// ID is the attribute's number, such as 5 for reallocated sectors.
	ID uint8 `json:"id"`
	// Name is the attribute's conventional name for this drive model
	// ("Reallocated_Sector_Ct"), from the drive database of anatol/smart.go
	// (derived from smartmontools'); empty when the database has none.
	Name string `json:"name,omitempty"`
	// Flags are the attribute's status flags; bit 0 (FlagPrefailure) marks
	// an attribute whose crossing its threshold predicts failure.
	Flags uint16 `json:"flags"`
	// Value is the normalized current value, usually 1 to 253, where lower
	// is worse.
	Value uint8 `json:"value"`
	// Worst is the lowest normalized value ever recorded.
	Worst uint8 `json:"worst"`
	// Threshold is the normalized value at or below which the drive
	// considers the attribute failed; 0 means it never fails.
	Threshold uint8 `json:"threshold"`
	// Raw is the raw value as smartctl reports it (its "raw.value"): the
	// six vendor bytes as a little-endian number, or for the few
	// attributes whose database entry says so, those bytes in another
	// order or with the reserved or normalized bytes added.
	Raw uint64 `json:"raw"`
}

// FlagPrefailure is the bit of Attribute.Flags that marks a pre-failure
// attribute (smartctl's "Pre-fail"); the others are "Old_age".
const FlagPrefailure = 1 << 0

// Failing reports whether the attribute's normalized value is at or below
// its threshold: what smartctl reports as FAILING_NOW. Values outside
// 1..253 are not valid normalized values and never count.
func (a Attribute) Failing() bool {
	return a.Threshold != 0 && a.Value >= 1 && a.Value <= 0xFD && a.Value <= a.Threshold
}

// NVMeHealth is an NVMe controller's SMART / Health Information log page
// (log identifier 02h, NVMe Base Specification 2.0, section 5.16.1.3).
// The 128-bit counters are kept to 64 bits: a larger value is reported as
// the largest uint64.
type NVMeHealth struct {
	// CriticalWarning holds the critical warning bits; zero means none.
	CriticalWarning CriticalWarning `json:"critical_warning"`
	// TemperatureKelvin is the composite temperature in kelvins; zero if
	// the controller does not report it.
	TemperatureKelvin uint16 `json:"temperature_kelvin"`
	// AvailableSpare is the remaining spare capacity, in percent.
	AvailableSpare uint8 `json:"available_spare"`
	// AvailableSpareThreshold is the AvailableSpare below which the
	// controller sets WarningSpare.
	AvailableSpareThreshold uint8 `json:"available_spare_threshold"`
	// PercentageUsed estimates how much of the rated endurance is used;
	// it may exceed 100 (255 means 255 or more).
	PercentageUsed uint8 `json:"percentage_used"`
	// DataUnitsRead and DataUnitsWritten count thousands of 512-byte
	// units transferred by host reads and writes.
	DataUnitsRead    uint64 `json:"data_units_read"`
	DataUnitsWritten uint64 `json:"data_units_written"`
	// HostReadCommands and HostWriteCommands count completed commands.
	HostReadCommands  uint64 `json:"host_read_commands"`
	HostWriteCommands uint64 `json:"host_write_commands"`
	// ControllerBusyMinutes is the time spent with commands outstanding.
	ControllerBusyMinutes uint64 `json:"controller_busy_minutes"`
	// PowerCycles, PowerOnHours and UnsafeShutdowns are lifetime counts.
	PowerCycles     uint64 `json:"power_cycles"`
	PowerOnHours    uint64 `json:"power_on_hours"`
	UnsafeShutdowns uint64 `json:"unsafe_shutdowns"`
	// MediaErrors counts unrecovered data integrity errors (uncorrectable
	// ECC, CRC or LBA tag mismatches).
	MediaErrors uint64 `json:"media_errors"`
	// ErrorLogEntries counts Error Information log entries over the
	// controller's life.
	ErrorLogEntries uint64 `json:"error_log_entries"`
	// WarningTemperatureMinutes and CriticalTemperatureMinutes are the
	// times spent at or above the warning and critical composite
	// temperature thresholds.
	WarningTemperatureMinutes  uint32 `json:"warning_temperature_minutes"`
	CriticalTemperatureMinutes uint32 `json:"critical_temperature_minutes"`
}

// CriticalWarning is the Critical Warning field of the NVMe health log: one
// bit per condition.
type CriticalWarning uint8

// The critical warning bits the NVMe specification defines; bits 6 and 7
// are reserved.
const (
	// WarningSpare: available spare capacity fell below its threshold.
	WarningSpare CriticalWarning = 1 << iota
	// WarningTemperature: a temperature is outside its thresholds.
	WarningTemperature
	// WarningReliability: reliability is degraded by media or internal
	// errors.
	WarningReliability
	// WarningReadOnly: the media was placed in read-only mode.
	WarningReadOnly
	// WarningVolatileBackup: the volatile memory backup device failed.
	WarningVolatileBackup
	// WarningPersistentMemory: the Persistent Memory Region became
	// read-only or unreliable.
	WarningPersistentMemory
)

var warningNames = [8]string{
	"available spare below threshold",
	"temperature outside thresholds",
	"reliability degraded",
	"media read-only",
	"volatile memory backup failed",
	"persistent memory region unreliable",
	"reserved bit 6",
	"reserved bit 7",
}

// Has reports whether every bit of bits is set in w.
func (w CriticalWarning) Has(bits CriticalWarning) bool { return w&bits == bits }

// Conditions describes each bit set in w, lowest bit first; none for zero.
func (w CriticalWarning) Conditions() []string {
	var out []string
	for i, name := range warningNames {
		if w&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String lists the conditions of w, or "none".
func (w CriticalWarning) String() string {
	if w == 0 {
		return "none"
	}
	return fmt.Sprintf("0x%02x (%s)", uint8(w), strings.Join(w.Conditions(), ", "))
}

// Validate checks that s is a sample a Reader could have returned: a known
// kind, the matching part filled in and the other empty, and ATA attribute
// IDs that are nonzero, unique and in ascending order.
func (s *Sample) Validate() error {
	switch s.Kind {
	case ATA:
		if s.NVMe != nil {
			return errors.New("smart: an ATA sample has an NVMe health log")
		}
		for i, a := range s.ATA {
			if a.ID == 0 {
				return fmt.Errorf("smart: ATA attribute %d has ID 0", i)
			}
			if i > 0 && a.ID <= s.ATA[i-1].ID {
				return fmt.Errorf("smart: ATA attribute %d out of order or repeated after %d", a.ID, s.ATA[i-1].ID)
			}
		}
	case NVMe:
		if s.NVMe == nil {
			return errors.New("smart: an NVMe sample has no health log")
		}
		if len(s.ATA) > 0 || s.ThresholdsUnavailable {
			return errors.New("smart: an NVMe sample has ATA attributes")
		}
	case "":
		return errors.New(`smart: sample has no kind; want "ata" or "nvme"`)
	default:
		return fmt.Errorf(`smart: sample of unknown kind %q; want "ata" or "nvme"`, s.Kind)
	}
	return nil
}

// Attribute returns the ATA attribute with the given ID, if the drive
// reports it.
func (s *Sample) Attribute(id uint8) (Attribute, bool) {
	for _, a := range s.ATA {
		if a.ID == id {
			return a, true
		}
	}
	return Attribute{}, false
}

// Clone returns a copy of s that shares no memory with it.
func (s Sample) Clone() Sample {
	s.ATA = slices.Clone(s.ATA)
	if s.NVMe != nil {
		h := *s.NVMe
		s.NVMe = &h
	}
	return s
}
