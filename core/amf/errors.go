package amf

import (
	"errors"
	"fmt"
)

// Sentinel causes of decode errors (inside a *DecodeError) and of encode errors, for errors.Is.
var (
	ErrTruncated   = errors.New("truncated input")
	ErrTooDeep     = errors.New("nesting too deep")
	ErrBadMarker   = errors.New("unknown or unsupported marker")
	ErrBadRef      = errors.New("reference out of range")
	ErrTooLarge    = errors.New("length exceeds the input or the format")
	ErrUnsupported = errors.New("unsupported value")
)

// DecodeError says where in the message decoding failed and why.
type DecodeError struct {
	Offset int
	Err    error
	Detail string
}

// Error reports the offset first, so a logged error points straight at the bad byte.
func (e *DecodeError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("amf: at byte %d: %v: %s", e.Offset, e.Err, e.Detail)
	}
	return fmt.Sprintf("amf: at byte %d: %v", e.Offset, e.Err)
}

// Unwrap exposes the sentinel cause for errors.Is.
func (e *DecodeError) Unwrap() error { return e.Err }
