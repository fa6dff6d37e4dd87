package erasure

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		p       Params
		wantErr string // substring; "" means valid
	}{
		{Params{4, 2}, ""},
		{Params{1, 0}, ""},
		{Params{256, 0}, ""},
		{Params{1, 255}, ""},
		{Params{128, 128}, ""},
		{Params{0, 2}, "k=0, need at least 1 data shard"},
		{Params{-1, 2}, "k=-1"},
		{Params{4, -1}, "m=-1, parity shards cannot be negative"},
		{Params{200, 100}, "k+m=300 exceeds 256 shards"},
		{Params{257, 0}, "k+m=257 exceeds 256 shards"},
		{Params{math.MaxInt, math.MaxInt}, "exceeds 256 shards"},
	} {
		err := tc.p.Validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%v: unexpected error %v", tc.p, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: got %v, want ErrBadParams containing %q", tc.p, err, tc.wantErr)
		}
	}
}

func TestParamsStringParse(t *testing.T) {
	if got := DefaultParams.String(); got != "4+2" {
		t.Fatalf("DefaultParams.String() = %q", got)
	}
	if DefaultParams.Total() != 6 {
		t.Fatalf("DefaultParams.Total() = %d", DefaultParams.Total())
	}
	for _, tc := range []struct {
		in   string
		want Params
		ok   bool
	}{
		{"4+2", Params{4, 2}, true},
		{" 10+4 ", Params{10, 4}, true},
		{"1+0", Params{1, 0}, true},
		{"128+128", Params{128, 128}, true},
		{"0+2", Params{}, false},
		{"200+100", Params{}, false},
		{"4-2", Params{}, false},
		{"4+", Params{}, false},
		{"+2", Params{}, false},
		{"4++2", Params{}, false},
		{"-4+2", Params{}, false},
		{"4+-2", Params{}, false},
		{"4 + 2", Params{}, false},
		{"99999+1", Params{}, false},
		{"", Params{}, false},
		{"four+two", Params{}, false},
	} {
		got, err := ParseParams(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseParams(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if back, _ := ParseParams(got.String()); back != got {
				t.Errorf("round trip of %v gave %v", got, back)
			}
			continue
		}
		if !errors.Is(err, ErrBadParams) {
			t.Errorf("ParseParams(%q) = %v, %v; want ErrBadParams", tc.in, got, err)
		}
	}
}

func TestStripeID(t *testing.T) {
	var id StripeID
	if !id.IsZero() {
		t.Fatal("zero ID is not IsZero")
	}
	for i := range id {
		id[i] = byte(i * 7)
	}
	s := id.String()
	if len(s) != 64 || strings.ToLower(s) != s {
		t.Fatalf("String() = %q", s)
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		back, err := ParseStripeID(in)
		if err != nil || back != id {
			t.Fatalf("ParseStripeID(%q) = %v, %v", in, back, err)
		}
	}
	txt, _ := id.MarshalText()
	var back StripeID
	if err := back.UnmarshalText(txt); err != nil || back != id || back.IsZero() {
		t.Fatalf("text round trip: %v, %v", back, err)
	}
	for _, bad := range []string{"", s[:63], s + "0", "zz" + s[2:], " " + s[1:]} {
		if _, err := ParseStripeID(bad); !errors.Is(err, ErrBadStripeID) {
			t.Errorf("ParseStripeID(%q): %v, want ErrBadStripeID", bad, err)
		}
	}
	if err := back.UnmarshalText([]byte("x")); !errors.Is(err, ErrBadStripeID) {
		t.Errorf("UnmarshalText: %v", err)
	}
}
