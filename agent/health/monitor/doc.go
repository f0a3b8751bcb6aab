// Package monitor watches the health of the agent's drives. Every Interval
// (a minute by default) it checks each drive:
//
//   - it reads a SMART sample through the drive's smart.Reader (a real
//     drive's smart.Device, a smart.Replay of recorded samples for an
//     emulated one, or none), keeps one sample per calendar day for the
//     last 30 days as the failure predictor's history (saved under
//     HistoryDir, if set, so a restart does not forget it), and runs the
//     predictor (package predict) on it;
//   - it counts the drive's zones by condition from a zone report: zones
//     that went read-only or offline are media the drive gave up on;
//   - it takes the drive's I/O counters (package iotime): device errors,
//     and the latencies over the last FailSlowWindow, which package
//     failslow compares with the host's other drives to find a fail-slow
//     drive;
//   - it adds the damage the drive's store found when it was opened.
//
// It then gives the drive a verdict, with the reasons behind it:
//
//   - failing: the predicted probability of failure within 30 days is at
//     or above FailingProbability (by default the model's strictest
//     operating point, flagging 0.5% of healthy drive-days in training);
//     an ATA attribute is at or below the drive's own threshold; or an
//     NVMe critical warning other than temperature is set (spare below
//     threshold, reliability degraded, media read-only, volatile backup
//     failed, persistent memory unreliable);
//   - suspect: the probability is at or above SuspectProbability (the
//     model's Threshold, as many false alarms as Backblaze's rule); the
//     drive is fail-slow; it returned a device I/O error within the last
//     ErrorHold (an hour); it has read-only or offline zones, or damage
//     its store found; its zone report failed; an NVMe drive has media
//     errors, has used up its rated endurance or warns of temperature; or
//     it is at or above HotCelsius (60 °C);
//   - ok otherwise.
//
// Nonzero Backblaze counters (SMART 5, 187, 188, 197, 198) and the
// predictor's reasons are listed among the reasons of a drive that is
// suspect or failing; on their own they count through the probability.
package monitor
