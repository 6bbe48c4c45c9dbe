package faults

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Ratio is a probability Num/Den, held as integers so that a chance is decided
// by exact integer comparison on every machine. A valid Ratio has Den > 0 and
// Num <= Den; the zero value is invalid, so an option left unset is caught by
// Validate instead of silently meaning "never".
type Ratio struct {
	Num, Den uint32
}

// Never and Always are the two certain ratios. Treat them as constants.
var (
	Never  = Ratio{Num: 0, Den: 1}
	Always = Ratio{Num: 1, Den: 1}
)

// ErrRatio is wrapped by every ratio validation error: errors.Is(err, ErrRatio).
var ErrRatio = errors.New("faults: invalid ratio")

// Percent returns p/100. Percent(p) for p > 100 is invalid.
func Percent(p uint32) Ratio { return Ratio{Num: p, Den: 100} }

// PerMillion returns n/1000000. PerMillion(n) for n > 1000000 is invalid.
func PerMillion(n uint32) Ratio { return Ratio{Num: n, Den: 1_000_000} }

// OneIn returns 1/n. OneIn(0) is invalid.
func OneIn(n uint32) Ratio { return Ratio{Num: 1, Den: n} }

// Validate reports why r is not a probability, or nil.
func (r Ratio) Validate() error {
	if r.Den == 0 {
		return fmt.Errorf("%w %s: denominator must be positive", ErrRatio, r)
	}
	if r.Num > r.Den {
		return fmt.Errorf("%w %s: numerator %d above denominator %d (probability above 1)",
			ErrRatio, r, r.Num, r.Den)
	}
	return nil
}

// String formats r as "Num/Den", for example "3/1000".
func (r Ratio) String() string {
	return strconv.FormatUint(uint64(r.Num), 10) + "/" + strconv.FormatUint(uint64(r.Den), 10)
}

// Chance returns true with probability exactly r: a uniform draw in [0, Den)
// is below Num. Which draws it consumes depends on Den only, never on Num:
// one, or with probability below Den/2^64 more. So raising or lowering a rate
// (Never and Always included) does not shift the stream's later numbers. It
// panics on an invalid r: options are validated before a run starts.
func (p *PRNG) Chance(r Ratio) bool {
	// Validate's own two tests, inline: a chance is drawn per message and
	// per I/O, and Validate (which formats its errors) is not inlined.
	if r.Den == 0 || r.Num > r.Den {
		panic(r.Validate())
	}
	return p.Uint64N(uint64(r.Den)) < uint64(r.Num)
}

// Enabled is Chance, named for the swarm's first question about each fault
// kind: is it on at all for this seed?
func (p *PRNG) Enabled(on Ratio) bool { return p.Chance(on) }

// ValidateBetween reports why [lo, hi] is not a range RatioBetween can draw
// from, or nil: both must be valid, share a denominator, and lo <= hi.
func ValidateBetween(lo, hi Ratio) error {
	if err := lo.Validate(); err != nil {
		return fmt.Errorf("faults: range [%s, %s]: low end: %w", lo, hi, err)
	}
	if err := hi.Validate(); err != nil {
		return fmt.Errorf("faults: range [%s, %s]: high end: %w", lo, hi, err)
	}
	if lo.Den != hi.Den {
		return fmt.Errorf("%w range [%s, %s]: denominators %d and %d differ", ErrRatio, lo, hi, lo.Den, hi.Den)
	}
	if lo.Num > hi.Num {
		return fmt.Errorf("%w range [%s, %s]: low end above high end", ErrRatio, lo, hi)
	}
	return nil
}

// RatioBetween draws a rate uniformly from lo to hi inclusive, on their common
// denominator: the swarm's "at what rate" for a fault kind that is on. It
// consumes one draw even when lo == hi. It panics when ValidateBetween(lo, hi)
// fails; call that when the options are built.
func (p *PRNG) RatioBetween(lo, hi Ratio) Ratio {
	if err := ValidateBetween(lo, hi); err != nil {
		panic(err)
	}
	r := Ratio{Num: uint32(p.Range(uint64(lo.Num), uint64(hi.Num))), Den: lo.Den}
	if r.Num < lo.Num || r.Num > hi.Num {
		panic(fmt.Sprintf("faults: RatioBetween(%s, %s) produced %s", lo, hi, r))
	}
	return r
}

// MarshalText writes r as "Num/Den", so options and seed reports read as
// rates rather than structs.
func (r Ratio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses "Num/Den" and validates the result.
func (r *Ratio) UnmarshalText(text []byte) error {
	num, den, ok := strings.Cut(string(text), "/")
	if !ok {
		return fmt.Errorf("%w %q: want Num/Den", ErrRatio, text)
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return fmt.Errorf("%w %q: numerator: %v", ErrRatio, text, err)
	}
	d, err := strconv.ParseUint(den, 10, 32)
	if err != nil {
		return fmt.Errorf("%w %q: denominator: %v", ErrRatio, text, err)
	}
	parsed := Ratio{Num: uint32(n), Den: uint32(d)}
	if err := parsed.Validate(); err != nil {
		return err
	}
	*r = parsed
	return nil
}
