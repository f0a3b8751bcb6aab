package smart

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	smartgo "github.com/anatol/smart.go"
)

// Reader reads the SMART data of one drive. Device reads a real drive;
// Replay plays recorded samples back, for tests.
type Reader interface {
	// Read returns the drive's SMART data as it stands now.
	Read(ctx context.Context) (Sample, error)
}

// ErrUnsupported is wrapped by the error Device.Read returns for a device
// that answers neither ATA nor NVMe SMART commands, such as a SAS drive or
// a USB bridge without ATA pass-through.
var ErrUnsupported = errors.New("unsupported device type")

// Device is a Reader for the drive at a device node, read through
// github.com/anatol/smart.go: /dev/sdX for a SATA drive (ATA commands
// through the kernel's SCSI-to-ATA translation), /dev/nvmeX or
// /dev/nvmeXnY for an NVMe drive. Reading needs root (CAP_SYS_RAWIO for
// ATA pass-through, CAP_SYS_ADMIN for NVMe admin commands).
type Device struct {
	// Path is the device node, such as /dev/sda or /dev/nvme0n1.
	Path string
}

var _ Reader = Device{}

// Read opens the device, identifies it, reads its SMART data and closes
// it again, so that a drive that was replaced between two reads is read
// afresh. The commands cannot be interrupted once sent (the kernel times
// them out); ctx is checked between them.
func (d Device) Read(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	if _, err := os.Stat(d.Path); err != nil {
		return Sample{}, fmt.Errorf("smart: %w", err)
	}
	dev, err := smartgo.Open(d.Path)
	if err != nil {
		return Sample{}, openFailure(d.Path, err)
	}
	defer dev.Close()
	s, err := readDevice(ctx, dev)
	if err != nil {
		return Sample{}, fmt.Errorf("smart: %s: %w", d.Path, err)
	}
	s.Path = d.Path
	s.Time = time.Now()
	return s, nil
}

// openFailure explains the failure of smart.go's Open, which tries each
// protocol in turn and joins their errors into several lines: on one line,
// as a permission problem if any protocol was refused for want of
// privilege, else as an unsupported device.
func openFailure(path string, err error) error {
	detail := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	if errors.Is(err, fs.ErrPermission) {
		return &openError{err: err, msg: fmt.Sprintf("smart: %s: permission denied: reading SMART data needs root "+
			"(CAP_SYS_RAWIO for ATA pass-through, CAP_SYS_ADMIN for NVMe admin commands): %s", path, detail)}
	}
	return &openError{err: err, unsupported: true, msg: fmt.Sprintf("smart: %s: %v: not an ATA or NVMe device "+
		"that answers SMART commands: %s", path, ErrUnsupported, detail)}
}

type openError struct {
	err         error
	unsupported bool
	msg         string
}

func (e *openError) Error() string { return e.msg }

func (e *openError) Unwrap() []error {
	if e.unsupported {
		return []error{ErrUnsupported, e.err}
	}
	return []error{e.err}
}

// readDevice reads a device smart.go has opened.
func readDevice(ctx context.Context, dev smartgo.Device) (Sample, error) {
	switch dev := dev.(type) {
	case *smartgo.SataDevice:
		return readATA(ctx, dev)
	case *smartgo.NVMeDevice:
		return readNVMe(ctx, dev)
	case *smartgo.ScsiDevice:
		hint := ""
		if os.Geteuid() != 0 {
			// smart.go falls back to SCSI when ATA pass-through is
			// refused, which it is without CAP_SYS_RAWIO.
			hint = " (or a SATA drive whose ATA pass-through was refused: not running as root)"
		}
		return Sample{}, fmt.Errorf("%w: a SCSI device (a SAS drive, or a USB bridge without ATA pass-through)%s; only ATA and NVMe drives are read", ErrUnsupported, hint)
	default:
		return Sample{}, fmt.Errorf("%w: device type %q (%T); only ATA and NVMe drives are read", ErrUnsupported, dev.Type(), dev)
	}
}

func readATA(ctx context.Context, dev *smartgo.SataDevice) (Sample, error) {
	id, err := dev.Identify()
	if err != nil {
		return Sample{}, fmt.Errorf("ATA IDENTIFY DEVICE: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	page, err := dev.ReadSMARTData()
	if err != nil {
		return Sample{}, fmt.Errorf("SMART READ DATA: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	// A drive that will not give its thresholds still gives useful raw
	// values; smartctl carries on too.
	thresholds, thrErr := dev.ReadSMARTThresholds()
	s := Sample{
		Kind:                  ATA,
		Model:                 id.ModelNumber(),
		Serial:                id.SerialNumber(),
		Firmware:              id.FirmwareRevision(),
		ATA:                   ataAttributes(page, thresholds),
		ThresholdsUnavailable: thrErr != nil,
	}
	return s, nil
}

// ataAttributes converts smart.go's attribute and threshold pages (the
// latter may be nil) into a table sorted by ID.
func ataAttributes(page *smartgo.AtaSmartPage, thresholds *smartgo.AtaSmartThresholdsPage) []Attribute {
	attrs := make([]Attribute, 0, len(page.Attrs))
	for _, a := range page.Attrs {
		raw := a.ValueRaw
		if a.Name == "" {
			// smart.go computes raw values only for attributes in its
			// database; smartctl shows the others as 48-bit numbers.
			raw = 0
			for i := len(a.VendorBytes) - 1; i >= 0; i-- {
				raw = raw<<8 | uint64(a.VendorBytes[i])
			}
		}
		attr := Attribute{ID: a.Id, Name: a.Name, Flags: a.Flags, Value: a.Current, Worst: a.Worst, Raw: raw}
		if thresholds != nil {
			attr.Threshold = thresholds.Thresholds[a.Id]
		}
		attrs = append(attrs, attr)
	}
	slices.SortFunc(attrs, func(a, b Attribute) int { return int(a.ID) - int(b.ID) })
	return attrs
}

func readNVMe(ctx context.Context, dev *smartgo.NVMeDevice) (Sample, error) {
	c, _, err := dev.Identify()
	if err != nil {
		return Sample{}, fmt.Errorf("NVMe Identify: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	log, err := dev.ReadSMART()
	if err != nil {
		return Sample{}, fmt.Errorf("NVMe Get Log Page (SMART / Health Information): %w", err)
	}
	return Sample{
		Kind:     NVMe,
		Model:    c.ModelNumber(),
		Serial:   c.SerialNumber(),
		Firmware: c.FirmwareRev(),
		NVMe:     nvmeHealth(log),
	}, nil
}

// nvmeHealth converts smart.go's health log page.
func nvmeHealth(l *smartgo.NvmeSMARTLog) *NVMeHealth {
	return &NVMeHealth{
		CriticalWarning:            CriticalWarning(l.CritWarning),
		TemperatureKelvin:          l.Temperature,
		AvailableSpare:             l.AvailSpare,
		AvailableSpareThreshold:    l.SpareThresh,
		PercentageUsed:             l.PercentUsed,
		DataUnitsRead:              clamp128(l.DataUnitsRead),
		DataUnitsWritten:           clamp128(l.DataUnitsWritten),
		HostReadCommands:           clamp128(l.HostReads),
		HostWriteCommands:          clamp128(l.HostWrites),
		ControllerBusyMinutes:      clamp128(l.CtrlBusyTime),
		PowerCycles:                clamp128(l.PowerCycles),
		PowerOnHours:               clamp128(l.PowerOnHours),
		UnsafeShutdowns:            clamp128(l.UnsafeShutdowns),
		MediaErrors:                clamp128(l.MediaErrors),
		ErrorLogEntries:            clamp128(l.NumErrLogEntries),
		WarningTemperatureMinutes:  l.WarningTempTime,
		CriticalTemperatureMinutes: l.CritCompTime,
	}
}

// clamp128 returns a 128-bit counter as a uint64, or the largest uint64 if
// it does not fit.
func clamp128(v smartgo.Uint128) uint64 {
	if v.Val[1] != 0 {
		return math.MaxUint64
	}
	return v.Val[0]
}
