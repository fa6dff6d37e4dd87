package placement

import (
	"maps"
	"slices"

	"respaldo/node/mesh"
)

// ToleratesLosses says how many peer losses an assignment survives:
// holders[i] is the peer holding shard i ("" for a shard that is missing),
// k the shards needed to read the stripe. It returns the largest L such
// that losing ANY L of the holding peers leaves at least k shards (the
// worst case loses the peers holding the most shards), and -1 when fewer
// than k shards are present at all (the stripe cannot be read now).
// Repair uses it on existing assignments; Place reports it in Plan.
func ToleratesLosses(holders []mesh.PeerID, k int) int {
	count := map[mesh.PeerID]int{}
	for _, h := range holders {
		if h != "" {
			count[h]++
		}
	}
	return tolerance(slices.Collect(maps.Values(count)), k)
}

// ZoneTolerance is ToleratesLosses over zones: the largest number of whole
// zones whose loss, whichever they are, leaves at least k shards; -1 when
// fewer than k are present. zoneOf gives each holder's zone from the
// roster; holders missing from it are counted in the zone "" (with any
// member that has no zone), the cautious choice. A result of 1 or more
// means a whole site can go (Plan.ZoneSafe).
func ZoneTolerance(holders []mesh.PeerID, k int, zoneOf map[mesh.PeerID]mesh.Zone) int {
	count := map[mesh.Zone]int{}
	for _, h := range holders {
		if h != "" {
			count[zoneOf[h]]++
		}
	}
	return tolerance(slices.Collect(maps.Values(count)), k)
}

// tolerance: with per-group shard counts, remove the largest groups one by
// one while at least k shards remain; -1 if fewer than k to begin with.
func tolerance(counts []int, k int) int {
	left := 0
	for _, c := range counts {
		left += c
	}
	if left < k {
		return -1
	}
	slices.SortFunc(counts, func(a, b int) int { return b - a })
	lost := 0
	for _, c := range counts {
		if left-c < k {
			break
		}
		left -= c
		lost++
	}
	return lost
}
