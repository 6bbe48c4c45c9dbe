// Package sub is the other package the links of package comments name.
package sub

// Part has a method, [Part.Method].
type Part struct{}

// Method does nothing.
func (Part) Method() {}
