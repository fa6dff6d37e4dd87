package placement

import (
	"fmt"
	"slices"
	"testing"

	"respaldo/node/mesh"
)

const stripes = 10000

func shares(t *testing.T, peers []Candidate) map[mesh.PeerID]int {
	t.Helper()
	got := map[mesh.PeerID]int{}
	for i := range stripes {
		plan, err := Place(stripeN(i), p42, shard, "", peers)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range plan.Holders {
			got[h]++
		}
	}
	return got
}

// TestDistributionEqualPeers: 12 equal peers in 4 zones share 10,000
// stripes of 4+2 evenly: each within ±15% of the mean.
func TestDistributionEqualPeers(t *testing.T) {
	peers := stores(12, 4)
	got := shares(t, peers)
	mean := float64(stripes*p42.Total()) / float64(len(peers))
	for _, c := range peers {
		if d := float64(got[c.ID])/mean - 1; d < -0.15 || d > 0.15 {
			t.Errorf("%s holds %d shards, %+.1f%% off the mean %.0f", c.ID, got[c.ID], 100*d, mean)
		}
	}
	t.Logf("shares %v (mean %.0f)", got, mean)
}

// TestDistributionPetabyteClaimer: one peer claims a petabyte among eleven
// with a terabyte each; it gets at most about twice the median share.
func TestDistributionPetabyteClaimer(t *testing.T) {
	peers := append(stores(11, 11), store("liar", "z-liar"))
	peers[11].FreeBytes = PB
	got := shares(t, peers)
	var others []int
	for _, c := range peers[:11] {
		others = append(others, got[c.ID])
	}
	slices.Sort(others)
	med := others[len(others)/2]
	ratio := float64(got["liar"]) / float64(med)
	t.Logf("liar %d shards, median %d: %.2fx", got["liar"], med, ratio)
	if ratio > 2.1 {
		t.Errorf("the petabyte claimer gets %.2fx the median share", ratio)
	}
	if got["liar"] > stripes {
		t.Errorf("the petabyte claimer holds two shards of some stripe")
	}
}

// TestDistributionFollowsSpace: below the cap, shares grow with free
// space (1, 1.5 and 2 TB classes), and a half-available peer gets less.
func TestDistributionFollowsSpace(t *testing.T) {
	var peers []Candidate
	for i := range 12 {
		c := store(mesh.PeerID(fmt.Sprintf("p%02d", i)), mesh.Zone(fmt.Sprintf("z%d", i)))
		c.FreeBytes = TB + int64(i%3)*TB/2
		peers = append(peers, c)
	}
	peers[0].Availability = 0.5
	got := shares(t, peers)
	var sum, n [3]float64
	for i, c := range peers[1:] { // p00 is the half-available one
		sum[(i+1)%3] += float64(got[c.ID])
		n[(i+1)%3]++
	}
	class := [3]float64{sum[0] / n[0], sum[1] / n[1], sum[2] / n[2]}
	if !(class[0] < class[1] && class[1] < class[2]) {
		t.Errorf("mean shares by space class 1/1.5/2 TB: %.0f", class)
	}
	if 2*got["p00"] > got["p03"]+got["p06"] {
		t.Errorf("half-available p00 holds %d, its 1 TB peers %d and %d", got["p00"], got["p03"], got["p06"])
	}
	t.Logf("mean shares of the 1/1.5/2 TB peers %.0f, half-available p00 %d", class, got["p00"])
}
