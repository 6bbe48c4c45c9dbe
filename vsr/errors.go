package vsr

import "strconv"

// Check names one validation step of Decode, in the order Decode runs them.
// A Check is also an error, so errors.Is(err, vsr.CheckBodyChecksum) asks
// which check a *MessageError failed.
type Check uint8

// The checks, in decoding order.
const (
	CheckLength         Check = iota + 1 // buffer shorter than a header (or, encoding, than the message)
	CheckHeaderChecksum                  // header bytes do not match the header checksum
	CheckProtocol                        // unknown protocol version
	CheckCommand                         // unknown command
	CheckSize                            // size field out of bounds
	CheckReserved                        // a reserved byte is not zero
	CheckBodyChecksum                    // body bytes do not match the body checksum
	CheckField                           // a per-command field rule
)

var checkNames = [...]string{
	CheckLength:         "length",
	CheckHeaderChecksum: "header checksum",
	CheckProtocol:       "protocol version",
	CheckCommand:        "command",
	CheckSize:           "size",
	CheckReserved:       "reserved bytes",
	CheckBodyChecksum:   "body checksum",
	CheckField:          "field rule",
}

// String returns the name of the check.
func (c Check) String() string {
	if int(c) < len(checkNames) && checkNames[c] != "" {
		return checkNames[c]
	}
	return "check(" + strconv.Itoa(int(c)) + ")"
}

// Error makes a Check usable as an errors.Is target.
func (c Check) Error() string { return "vsr: message: " + c.String() }

// MessageError says why a message was rejected: which check failed, and with
// what value. Fields that do not apply to the check are zero.
type MessageError struct {
	Check   Check
	Command Command // the message's command, once the command check has passed
	Field   string  // CheckField: the rule broken; CheckSize: "buffer" if the message is cut short
	Value   uint64  // the offending value (a length, size, version, command, byte offset or field)
	Limit   uint64  // the bound Value broke, where there is one
	Got     U128    // checksum checks: computed
	Want    U128    // checksum checks: stored
}

// Is reports whether target is the Check that e failed.
func (e *MessageError) Is(target error) bool {
	c, ok := target.(Check)
	return ok && c == e.Check
}

// Error describes the failed check with its values, on one line.
func (e *MessageError) Error() string {
	s := "vsr: message"
	if e.Command.Valid() {
		s += " " + e.Command.String()
	}
	s += ": " + e.Check.String() + ": "
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	switch e.Check {
	case CheckLength:
		s += "buffer is " + u(e.Value) + " bytes, need " + u(e.Limit)
	case CheckHeaderChecksum, CheckBodyChecksum:
		s += "computed " + e.Got.String() + ", stored " + e.Want.String()
	case CheckProtocol:
		s += "version " + u(e.Value) + ", want " + u(e.Limit)
	case CheckCommand:
		s += "unknown command " + u(e.Value)
	case CheckSize:
		if e.Field == "buffer" {
			s += "size " + u(e.Value) + " exceeds the " + u(e.Limit) + " bytes received"
		} else {
			s += "size " + u(e.Value) + " outside [" + u(HeaderSize) + ", " + u(e.Limit) + "]"
		}
	case CheckReserved:
		s += "byte at offset " + u(e.Value) + " is not zero"
	case CheckField:
		s += e.Field + " (value " + u(e.Value) + ")"
	default:
		s += "value " + u(e.Value)
	}
	return s
}
