package erasure

// This file holds the little GF(2^8) arithmetic the package does itself: on
// coefficients only, never on shard bytes. The bulk work (multiplying whole
// shards by coefficients and adding them up) is reedsolomon's, which has
// the SIMD kernels; what it cannot do is plan an LRC decode that mixes local
// and global parities, so the planning (which survivors to read, the
// inverse of their rows) is done here, in the same field reedsolomon uses
// (polynomial x^8+x^4+x^3+x^2+1, generator 2), so that the coefficients we
// compute mean the same thing to its kernels.

// gfPoly is the field's reduction polynomial without the x^8 term, as in
// reedsolomon.
const gfPoly = 0x1d

// gfExp[i] = 2^i for i in [0, 510): doubled so that gfMul need not reduce
// the sum of two logs modulo 255.
var gfExp, gfLog = gfTables()

func gfTables() (exp [510]byte, log [256]byte) {
	x := 1
	for i := range 255 {
		exp[i] = byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x100 | gfPoly
		}
	}
	for i := 255; i < len(exp); i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}

// gfMul multiplies two field elements.
func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// gfInv returns the multiplicative inverse of a non-zero element.
func gfInv(a byte) byte {
	return gfExp[255-int(gfLog[a])]
}

// gfSolve picks rows of gen (each a combination of the k data shards) that
// together determine every data shard, and returns which rows it picked and
// the inverse of the square matrix they form: data = inv · picked. It walks
// the rows in the order given, so callers list the rows they would rather
// read first. ok is false when the rows do not span all k data shards, i.e.
// when the shards they stand for cannot rebuild the data.
func gfSolve(gen [][]byte, k int) (picked []int, inv [][]byte, ok bool) {
	// Gauss-Jordan elimination on [rows | I] one candidate row at a time:
	// a row that reduces to zero against the rows already kept adds nothing
	// and is skipped, so the rows kept are independent and stop at k.
	type kept struct {
		row   []byte // reduced coefficients over the data shards
		combo []byte // the same row as a combination of the picked rows
		pivot int
	}
	var rows []kept
	for r, g := range gen {
		if len(rows) == k {
			break
		}
		row := append([]byte(nil), g...)
		combo := make([]byte, k)
		combo[len(rows)] = 1
		for _, kr := range rows {
			if c := row[kr.pivot]; c != 0 {
				for j := range row {
					row[j] ^= gfMul(c, kr.row[j])
					combo[j] ^= gfMul(c, kr.combo[j])
				}
			}
		}
		p := -1
		for j, c := range row {
			if c != 0 {
				p = j
				break
			}
		}
		if p < 0 {
			continue
		}
		// Normalise the pivot to 1 and clear it from the rows kept before,
		// so every kept row stays reduced against every other.
		s := gfInv(row[p])
		for j := range row {
			row[j] = gfMul(s, row[j])
			combo[j] = gfMul(s, combo[j])
		}
		for i := range rows {
			if c := rows[i].row[p]; c != 0 {
				for j := range row {
					rows[i].row[j] ^= gfMul(c, row[j])
					rows[i].combo[j] ^= gfMul(c, combo[j])
				}
			}
		}
		rows = append(rows, kept{row: row, combo: combo, pivot: p})
		picked = append(picked, r)
	}
	if len(rows) < k {
		return nil, nil, false
	}
	// Each kept row is now the unit vector of its pivot: data[pivot] is
	// that row's combination of the picked rows.
	inv = make([][]byte, k)
	for _, kr := range rows {
		inv[kr.pivot] = kr.combo
	}
	return picked, inv, true
}
