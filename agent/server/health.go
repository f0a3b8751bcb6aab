package server

import (
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/smart"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// withHealth adds to p, d's description, what the health monitor last
// found on d; p is left as it is before the first check.
func withHealth(p *agentv1.Drive, d *Drive) *agentv1.Drive {
	st, ok := d.HealthStatus()
	if !ok {
		return p
	}
	h := &agentv1.DriveHealth{
		CheckedUnixMs:      st.Checked.UnixMilli(),
		Predicted:          st.Predicted,
		FailureProbability: st.FailureProbability,
		FailSlow:           st.FailSlow.Slow,
		IoErrors:           st.IO.Errors(),
		ReadOnlyZones:      uint32(st.Zones.ReadOnly()),
		OfflineZones:       uint32(st.Zones.Offline()),
		Smart:              st.HasSMART,
		SmartError:         st.SMARTError,
	}
	for _, r := range st.PredictionReasons {
		h.PredictionReasons = append(h.PredictionReasons, r.String())
	}
	for _, f := range st.FailSlow.Findings {
		switch f.Op {
		case iotime.Read:
			h.ReadP99Seconds, h.ReadPeerP99Seconds = f.Latency.Seconds(), f.PeerLatency.Seconds()
		case iotime.Write:
			h.WriteP99Seconds, h.WritePeerP99Seconds = f.Latency.Seconds(), f.PeerLatency.Seconds()
		}
	}
	if st.HasSMART {
		g := st.Signals
		if g.HasTemperature {
			t := int32(g.TemperatureC)
			h.TemperatureCelsius = &t
		}
		switch g.Kind {
		case smart.ATA:
			h.SmartRaw = make(map[uint32]uint64, len(g.Backblaze))
			for id, v := range g.Backblaze {
				h.SmartRaw[uint32(id)] = v
			}
			for _, id := range g.FailingAttributes {
				h.SmartFailingAttributes = append(h.SmartFailingAttributes, uint32(id))
			}
		case smart.NVMe:
			h.NvmeCriticalWarning = uint32(g.CriticalWarning)
			h.NvmeMediaErrors = g.MediaErrors
			h.NvmePercentageUsed = uint32(g.PercentageUsed)
		}
	}
	p.HealthDetail = h
	return p
}
