package placement

import (
	"slices"
)

const (
	// WeightCap bounds a peer's space weight: at most WeightCap times the
	// median space weight of the eligible peers.
	WeightCap = 2
	// MinAvailability floors the availability used in weights, so a peer
	// with a poor record still gets a little weight (and a stripe can go to
	// it when nobody else can take it).
	MinAvailability = 0.05
)

// availabilityFactor multiplies a peer's weight: its availability a,
// clamped to [MinAvailability, 1] (NaN counts as the floor), squared. A
// peer up half the time gets a quarter of the weight of one always up:
// reads need k holders up at once, so unreliable holders cost more than
// their downtime alone.
func availabilityFactor(a float64) float64 {
	if !(a >= MinAvailability) {
		a = MinAvailability
	}
	a = min(a, 1)
	return a * a
}

// median of xs (not modified); the mean of the two middle values when the
// length is even; 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// weights returns, for eligible peers with free space free[i] and
// availability avail[i], min(free[i], WeightCap·median(free)) ·
// availabilityFactor(avail[i]). Every weight is positive when every free[i]
// is (eligible peers have room for a shard).
func weights(free, avail []float64) []float64 {
	limit := WeightCap * median(free)
	w := make([]float64, len(free))
	for i := range free {
		w[i] = min(free[i], limit) * availabilityFactor(avail[i])
	}
	return w
}
