package discover

import (
	"io"

	"github.com/shingle-storage/shingle/zoned"
)

// ZoneReader returns an io.ReaderAt over a zoned device that reads only
// written bytes: those of conventional zones and, in sequential zones, those
// below the write pointer. Everything else (past a write pointer, past a
// zone's capacity, in an offline zone) reads as zeros, because what a drive
// returns there is undefined and some SMR drives fail the read. Reads need
// no alignment; the reader aligns them to the device's block size. Reading
// past the end of the device returns io.EOF.
func ZoneReader(dev zoned.Device) io.ReaderAt {
	return zoneReader{dev: dev, info: dev.Info()}
}

type zoneReader struct {
	dev  zoned.Device
	info zoned.Info
}

func (r zoneReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= r.info.Capacity {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.info.Capacity-off))
	clear(p[:n])
	bs := int64(r.info.LogicalBlockSize)
	for pos := off; pos < off+int64(n); {
		z, err := zoned.ReportZone(r.dev, r.info.ZoneOf(pos))
		if err != nil {
			return int(pos - off), err
		}
		zoneEnd := min(z.Start+z.Size, off+int64(n))
		readable := z.Start + z.Size
		switch {
		case z.Cond == zoned.CondOffline:
			readable = z.Start
		case z.Sequential():
			readable = min(z.WritePointer, z.Start+z.Capacity)
		}
		if lo, hi := pos, min(zoneEnd, readable); lo < hi {
			// Write pointers and zone boundaries are block-aligned, so the
			// aligned range stays within what is readable.
			alo, ahi := lo/bs*bs, (hi+bs-1)/bs*bs
			buf := zoned.AlignedBuffer(int(ahi-alo), int(bs))
			if _, err := r.dev.ReadAt(buf, alo); err != nil {
				return int(pos - off), err
			}
			copy(p[lo-off:hi-off], buf[lo-alo:])
		}
		pos = zoneEnd
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
