package crypto

import "strings"

// bech32Encode is BIP-173 Bech32 as age uses it: no length limit, checksum
// over the lower-case HRP, output upper-case when the HRP is. age's own
// encoder is internal; this one is checked against age by the tests (a
// derived identity's String must equal what we encoded).
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	lower := strings.ToLower(hrp)
	var values []byte
	var acc uint32
	bits := 0
	for _, b := range data {
		acc = acc<<8 | uint32(b)
		for bits += 8; bits >= 5; {
			bits -= 5
			values = append(values, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		values = append(values, byte(acc<<(5-bits))&31)
	}

	var exp []byte
	for _, c := range []byte(lower) {
		exp = append(exp, c>>5)
	}
	exp = append(exp, 0)
	for _, c := range []byte(lower) {
		exp = append(exp, c&31)
	}
	exp = append(append(exp, values...), 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(exp) ^ 1

	var b strings.Builder
	b.WriteString(lower)
	b.WriteByte('1')
	for _, v := range values {
		b.WriteByte(charset[v])
	}
	for i := range 6 {
		b.WriteByte(charset[mod>>(5*(5-i))&31])
	}
	if hrp != lower {
		return strings.ToUpper(b.String())
	}
	return b.String()
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
