package smart_test

import "github.com/shingle-storage/shingle/agent/health/smart"

// The drives of the QEMU guest, which qemu_test.go attaches and
// guest_test.go reads.
const (
	guestATASerial     = "shinglesata"
	guestNVMeSerial    = "shinglenvme"
	guestWarningSerial = "shinglewarn"
	// guestWarning is the critical warning injected into the second NVMe
	// controller: spare below threshold and reliability degraded.
	guestWarning = smart.WarningSpare | smart.WarningReliability
	// guestRecordMarker starts the console lines that carry samples and
	// smartctl reports to the host, which can save them as test data.
	guestRecordMarker = "SHINGLE-SMART-RECORD"
)
