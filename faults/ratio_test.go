package faults

import (
	"errors"
	"strings"
	"testing"
)

func TestRatioValidate(t *testing.T) {
	tests := []struct {
		r       Ratio
		wantErr string // "" for a valid ratio
	}{
		{Never, ""},
		{Always, ""},
		{Ratio{3, 1000}, ""},
		{Percent(0), ""},
		{Percent(100), ""},
		{PerMillion(1_000_000), ""},
		{OneIn(1), ""},
		{OneIn(7), ""},
		{Ratio{}, "0/0: denominator must be positive"},
		{OneIn(0), "1/0: denominator must be positive"},
		{Ratio{5, 3}, "5/3: numerator 5 above denominator 3"},
		{Percent(101), "101/100: numerator 101 above denominator 100"},
		{PerMillion(1_000_001), "1000001/1000000"},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s.Validate() = %v, want nil", tt.r, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("%s.Validate() = nil, want an error", tt.r)
		case tt.wantErr != "" && !errors.Is(err, ErrRatio):
			t.Errorf("%s.Validate() = %v, not an ErrRatio", tt.r, err)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("%s.Validate() = %q, want it to mention %q", tt.r, err, tt.wantErr)
		}
	}
}

func TestRatioString(t *testing.T) {
	for _, tt := range []struct {
		r    Ratio
		want string
	}{{Ratio{3, 1000}, "3/1000"}, {Never, "0/1"}, {Always, "1/1"}, {Percent(5), "5/100"}, {OneIn(4294967295), "1/4294967295"}} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestChanceNeverAndAlways(t *testing.T) {
	p := New(20)
	for i := range 100_000 {
		if p.Chance(Never) {
			t.Fatalf("Chance(Never) was true at draw %d", i)
		}
		if !p.Chance(Always) {
			t.Fatalf("Chance(Always) was false at draw %d", i)
		}
		if p.Chance(Percent(0)) || !p.Chance(Percent(100)) {
			t.Fatalf("Chance(0/100) or Chance(100/100) wrong at draw %d", i)
		}
	}
}

// Over 100k draws σ ≤ 0.0016, so ±1% is over 6σ.
func TestChanceFrequency(t *testing.T) {
	for _, r := range []Ratio{OneIn(10), Percent(37), Ratio{999, 1000}, Ratio{1, 3}} {
		p := New(21)
		hits := 0
		for range 100_000 {
			if p.Chance(r) {
				hits++
			}
		}
		within(t, "Chance("+r.String()+") frequency", float64(hits)/100_000, float64(r.Num)/float64(r.Den), 0.01)
	}
}

// Chance consumes one draw whatever the rate, so a rate change does not shift
// the stream's later numbers.
func TestChanceConsumesOneDraw(t *testing.T) {
	for _, r := range []Ratio{Never, Always, OneIn(10), PerMillion(3)} {
		a, b := New(22), New(22)
		a.Chance(r)
		b.Chance(Percent(50))
		if a.Draws() != 1 || a.Uint64() != b.Uint64() {
			t.Errorf("Chance(%s) used %d draws, or shifted the stream", r, a.Draws())
		}
	}
}

func TestChancePanicsOnInvalidRatio(t *testing.T) {
	p := New(23)
	mustPanic(t, "Chance(0/0)", "denominator must be positive", func() { p.Chance(Ratio{}) })
	mustPanic(t, "Chance(2/1)", "above denominator", func() { p.Chance(Ratio{2, 1}) })
	mustPanic(t, "Enabled(2/1)", "above denominator", func() { p.Enabled(Ratio{2, 1}) })
}

func TestEnabledIsChance(t *testing.T) {
	a, b := New(24), New(24)
	for i := range 10_000 {
		if a.Enabled(Percent(30)) != b.Chance(Percent(30)) {
			t.Fatalf("Enabled and Chance disagree at draw %d", i)
		}
	}
}

func TestRatioBetween(t *testing.T) {
	p := New(25)
	lo, hi := Percent(1), Percent(5)
	seen := map[uint32]bool{}
	for range 1000 {
		r := p.RatioBetween(lo, hi)
		if r.Den != 100 || r.Num < 1 || r.Num > 5 {
			t.Fatalf("RatioBetween(%s, %s) = %s", lo, hi, r)
		}
		seen[r.Num] = true
	}
	if len(seen) != 5 {
		t.Errorf("RatioBetween(%s, %s) drew %d distinct rates, want all 5", lo, hi, len(seen))
	}
	before := p.Draws()
	if r := p.RatioBetween(PerMillion(7), PerMillion(7)); r != PerMillion(7) || p.Draws() != before+1 {
		t.Errorf("RatioBetween(x, x) = %s using %d draws, want x using 1", r, p.Draws()-before)
	}
	if r := p.RatioBetween(Never, Always); r != Never && r != Always {
		t.Errorf("RatioBetween(Never, Always) = %s", r)
	}
}

func TestValidateBetween(t *testing.T) {
	tests := []struct {
		lo, hi  Ratio
		wantErr string
	}{
		{Percent(1), Percent(5), ""},
		{Percent(5), Percent(5), ""},
		{Percent(1), PerMillion(5), "denominators 100 and 1000000 differ"},
		{Percent(6), Percent(5), "low end above high end"},
		{Ratio{}, Percent(5), "low end"},
		{Percent(1), Percent(101), "high end"},
	}
	p := New(26)
	for _, tt := range tests {
		err := ValidateBetween(tt.lo, tt.hi)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateBetween(%s, %s) = %v", tt.lo, tt.hi, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrRatio) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateBetween(%s, %s) = %v, want an ErrRatio mentioning %q", tt.lo, tt.hi, err, tt.wantErr)
		}
		mustPanic(t, "RatioBetween("+tt.lo.String()+", "+tt.hi.String()+")", tt.wantErr,
			func() { p.RatioBetween(tt.lo, tt.hi) })
	}
}

func TestRatioText(t *testing.T) {
	for _, r := range []Ratio{Never, Always, Percent(7), PerMillion(12)} {
		text, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Ratio
		if err := back.UnmarshalText(text); err != nil || back != r {
			t.Fatalf("%s: round trip gave %s, %v", r, back, err)
		}
	}
	for _, bad := range []string{"", "1", "1/0", "3/2", "x/2", "1/y", "-1/2"} {
		var r Ratio
		if err := r.UnmarshalText([]byte(bad)); !errors.Is(err, ErrRatio) {
			t.Errorf("%q: got %v, want ErrRatio", bad, err)
		}
	}
}
