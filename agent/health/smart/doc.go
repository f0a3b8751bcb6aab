// Package smart reads drives' SMART data and derives the health signals
// the agent watches.
//
// A Reader returns one Sample per call. Device reads a real drive through
// github.com/anatol/smart.go: for a SATA drive the ATA SMART attribute
// table (ID, name, flags, normalized value, worst, threshold, raw value),
// for an NVMe drive the SMART / Health Information log. Replay plays back
// samples recorded as JSON (testdata holds some from QEMU's emulated
// drives and some hand-written failing drives), so code that consumes SMART
// data can be tested without drives or root.
//
// Sample.Signals reduces a sample to what predicts failure: the raw values
// of the five attributes Backblaze watches (5 reallocated sectors, 187
// reported uncorrectable errors, 188 command timeouts, 197 pending sectors,
// 198 offline uncorrectable sectors), the attributes the drive itself
// reports as failing, the NVMe critical warnings, media errors and
// percentage used, and the temperature. Sample.PredictSample turns a sample
// into the input of the failure predictor in package predict.
//
// Raw values, temperatures and failing attributes follow smartctl's
// reading of the same data; the package's QEMU test (qemu_test.go, build
// tag qemu) checks every value it reads from an emulated SATA disk and two
// emulated NVMe controllers against smartctl -j run in the same guest.
package smart
