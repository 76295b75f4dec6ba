package rtmpmsg

import (
	"encoding/binary"
	"fmt"
)

// SplitAggregate calls fn for each sub-message of an aggregate (type 22): a run of FLV tags
// (type 1, size 3, timestamp 3 + extension 1, stream id 3, body, previous tag size 4). Timestamps
// are shifted so that the first sub-message has the aggregate's own timestamp.
func SplitAggregate(ts uint32, payload []byte, fn func(typeID uint8, ts uint32, body []byte) error) error {
	var base uint32
	for first := true; len(payload) > 0; first = false {
		if len(payload) < 11 {
			return fmt.Errorf("%w: aggregate tag header", ErrShort)
		}
		typeID := payload[0]
		size := uint32(payload[1])<<16 | uint32(payload[2])<<8 | uint32(payload[3])
		tagTS := uint32(payload[4])<<16 | uint32(payload[5])<<8 | uint32(payload[6]) | uint32(payload[7])<<24
		if first {
			base = tagTS
		}
		if uint64(len(payload)) < 11+uint64(size) {
			return fmt.Errorf("%w: aggregate tag of %d bytes", ErrShort, size)
		}
		body := payload[11 : 11+size]
		if err := fn(typeID, ts+(tagTS-base), body); err != nil {
			return err
		}
		payload = payload[11+size:]
		if len(payload) >= 4 { // previous tag size; a missing last one is tolerated
			_ = binary.BigEndian.Uint32(payload)
			payload = payload[4:]
		}
	}
	return nil
}
