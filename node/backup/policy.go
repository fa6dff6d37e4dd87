package backup

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy says which snapshots forget keeps, in each group of snapshots of
// one host and one set of paths: the Last newest, the newest of each of the
// Daily last days that have a snapshot, and the newest of each of the
// Weekly last ISO weeks that have one. A snapshot kept by any rule is kept.
// Days and weeks are those of loc (time.Local when nil).
type Policy struct {
	Last, Daily, Weekly int
	Loc                 *time.Location
}

// ErrKeepsNothing: a policy whose every count is zero would forget
// everything; forget refuses it.
var ErrKeepsNothing = errors.New("backup: the policy keeps nothing (give --keep-last, --keep-daily or --keep-weekly)")

// Apply splits es (live snapshots) into those the policy keeps and those it
// forgets, each oldest first.
func (p Policy) Apply(es []CatalogEntry) (keep, forget []CatalogEntry, err error) {
	if p.Last < 0 || p.Daily < 0 || p.Weekly < 0 {
		return nil, nil, errors.New("backup: negative keep count")
	}
	if p.Last == 0 && p.Daily == 0 && p.Weekly == 0 {
		return nil, nil, ErrKeepsNothing
	}
	loc := p.Loc
	if loc == nil {
		loc = time.Local
	}
	groups := map[string][]CatalogEntry{}
	for _, e := range es {
		k := e.Host + "\x00" + strings.Join(e.Paths, "\x00")
		groups[k] = append(groups[k], e)
	}
	kept := map[int]bool{} // index in es
	pos := map[string]int{}
	for i, e := range es {
		pos[e.ID.String()] = i
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b CatalogEntry) int { return b.Time.Compare(a.Time) }) // newest first
		for i, e := range g {
			if i < p.Last {
				kept[pos[e.ID.String()]] = true
			}
		}
		bucket := func(n int, key func(time.Time) string) {
			seen := map[string]bool{}
			for _, e := range g {
				if len(seen) == n {
					return
				}
				k := key(e.Time.In(loc))
				if !seen[k] {
					seen[k] = true
					kept[pos[e.ID.String()]] = true
				}
			}
		}
		bucket(p.Daily, func(t time.Time) string { return t.Format("2006-01-02") })
		bucket(p.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		})
	}
	for i, e := range es {
		if kept[i] {
			keep = append(keep, e)
		} else {
			forget = append(forget, e)
		}
	}
	byTime := func(a, b CatalogEntry) int { return cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) }
	slices.SortStableFunc(keep, byTime)
	slices.SortStableFunc(forget, byTime)
	return keep, forget, nil
}
