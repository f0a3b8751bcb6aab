package smart

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	smartgo "github.com/anatol/smart.go"
)

// otherDevice is a smart.go device of a type this package does not know.
type otherDevice struct{}

func (otherDevice) Type() string { return "floppy" }
func (otherDevice) Close() error { return nil }
func (otherDevice) ReadGenericAttributes() (*smartgo.GenericAttributes, error) {
	return nil, errors.ErrUnsupported
}

func TestReadDeviceUnknownType(t *testing.T) {
	_, err := readDevice(context.Background(), otherDevice{})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("error %v, want one wrapping ErrUnsupported", err)
	}
	for _, want := range []string{`"floppy"`, "otherDevice", "only ATA and NVMe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestReadDeviceSCSI(t *testing.T) {
	_, err := readDevice(context.Background(), &smartgo.ScsiDevice{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "SCSI") {
		t.Fatalf("error %v, want ErrUnsupported saying the device is SCSI", err)
	}
}

func TestDeviceReadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sdz")
	_, err := Device{Path: path}.Read(context.Background())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want a not-exist error naming %s", err, path)
	}
}

// TestDeviceReadNotADrive reads things that answer neither ATA nor NVMe
// commands: the error wraps ErrUnsupported, names the path and fits on one
// line although smart.go reports a failure per protocol it tried.
func TestDeviceReadNotADrive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, "/dev/null"} {
		_, err := Device{Path: path}.Read(context.Background())
		t.Logf("%s: %v", path, err)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: error %v, want one wrapping ErrUnsupported", path, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should name the path on one line", path, msg)
		}
	}
}

func TestOpenFailure(t *testing.T) {
	denied := openFailure("/dev/sda", errors.Join(
		&fs.PathError{Op: "open", Path: "/dev/sda", Err: syscall.EACCES},
		&fs.PathError{Op: "open", Path: "/dev/sda", Err: syscall.EACCES}))
	if errors.Is(denied, ErrUnsupported) || !errors.Is(denied, fs.ErrPermission) {
		t.Errorf("permission denied reads as %v", denied)
	}
	if msg := denied.Error(); !strings.Contains(msg, "needs root") || strings.Contains(msg, "\n") {
		t.Errorf("permission denied: %q", msg)
	}
	other := openFailure("/dev/sr0", errors.Join(errors.New("sata: no"), errors.New("scsi: no")))
	if !errors.Is(other, ErrUnsupported) || other.Error() != "smart: /dev/sr0: unsupported device type: "+
		"not an ATA or NVMe device that answers SMART commands: sata: no; scsi: no" {
		t.Errorf("unsupported device: %v", other)
	}
}

func TestDeviceReadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Device{Path: "/dev/null"}).Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestATAAttributes(t *testing.T) {
	page := &smartgo.AtaSmartPage{Attrs: map[uint8]smartgo.AtaSmartAttr{
		// In smart.go's database: its raw value is taken as it is.
		194: {Id: 194, Flags: 0x22, Current: 36, Worst: 48, Name: "Temperature_Celsius",
			VendorBytes: [6]byte{0x24, 0, 0, 0, 0x1d, 0}, ValueRaw: 0x1d00000024},
		// Not in the database: smart.go leaves the raw value zero, and
		// it is read from the vendor bytes, little-endian.
		222: {Id: 222, Flags: 0x03, Current: 99, Worst: 98, VendorBytes: [6]byte{1, 2, 3, 4, 5, 6}},
		5:   {Id: 5, Flags: 0x33, Current: 100, Worst: 100, Name: "Reallocated_Sector_Ct", ValueRaw: 8},
	}}
	thresholds := &smartgo.AtaSmartThresholdsPage{Thresholds: map[uint8]uint8{5: 10, 222: 50}}

	got := ataAttributes(page, thresholds)
	want := []Attribute{
		{ID: 5, Name: "Reallocated_Sector_Ct", Flags: 0x33, Value: 100, Worst: 100, Threshold: 10, Raw: 8},
		{ID: 194, Name: "Temperature_Celsius", Flags: 0x22, Value: 36, Worst: 48, Threshold: 0, Raw: 0x1d00000024},
		{ID: 222, Flags: 0x03, Value: 99, Worst: 98, Threshold: 50, Raw: 0x060504030201},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attributes\n got %+v\nwant %+v", got, want)
	}

	for _, a := range ataAttributes(page, nil) {
		if a.Threshold != 0 {
			t.Errorf("attribute %d has threshold %d without a threshold page", a.ID, a.Threshold)
		}
	}
}

func TestNVMeHealth(t *testing.T) {
	u := func(lo uint64) smartgo.Uint128 { return smartgo.Uint128{Val: [2]uint64{lo, 0}} }
	l := &smartgo.NvmeSMARTLog{
		CritWarning: 0x0c, Temperature: 318, AvailSpare: 4, SpareThresh: 10, PercentUsed: 104,
		DataUnitsRead: u(1), DataUnitsWritten: u(2), HostReads: u(3), HostWrites: u(4),
		CtrlBusyTime: u(5), PowerCycles: u(6), PowerOnHours: u(7), UnsafeShutdowns: u(8),
		MediaErrors:      smartgo.Uint128{Val: [2]uint64{9, 1}}, // does not fit in 64 bits
		NumErrLogEntries: u(10), WarningTempTime: 11, CritCompTime: 12,
	}
	got := nvmeHealth(l)
	want := &NVMeHealth{
		CriticalWarning: WarningReliability | WarningReadOnly, TemperatureKelvin: 318,
		AvailableSpare: 4, AvailableSpareThreshold: 10, PercentageUsed: 104,
		DataUnitsRead: 1, DataUnitsWritten: 2, HostReadCommands: 3, HostWriteCommands: 4,
		ControllerBusyMinutes: 5, PowerCycles: 6, PowerOnHours: 7, UnsafeShutdowns: 8,
		MediaErrors: math.MaxUint64, ErrorLogEntries: 10,
		WarningTemperatureMinutes: 11, CriticalTemperatureMinutes: 12,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("health log\n got %+v\nwant %+v", got, want)
	}
}
