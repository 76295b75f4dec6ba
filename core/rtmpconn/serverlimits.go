package rtmpconn

import (
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
)

// DefaultInboundBufferBytes is a server's default budget for the reassembly buffers of all its
// client connections together: room for hundreds of publishers' keyframes, while a crowd of
// connections each within its own limits cannot take the process's memory.
const DefaultInboundBufferBytes = 256 << 20

// ServerLimits are the connection limits a server's config file sets ([limits] keys of the origin
// and the edge). Zero fields keep the defaults.
type ServerLimits struct {
	HandshakeTimeout   time.Duration // from accept to the end of the handshake
	MaxMessageBytes    int           // largest message from a client once connected
	ConnectTimeout     time.Duration // from the end of the handshake to an accepted connect
	InboundBufferBytes int64         // shared budget of every client's reassembly buffers; < 0: none
}

// Apply returns cfg with l applied and, unless l disables it, a new inbound budget: call it once
// per server, so that the budget is that server's alone.
func (l ServerLimits) Apply(cfg Config) Config {
	if l.MaxMessageBytes > 0 {
		if cfg.Limits == (chunk.Limits{}) {
			cfg.Limits = chunk.DefaultLimits()
		}
		size := min(l.MaxMessageBytes, 1<<24-1)
		cfg.Limits.MaxMessageSize = uint32(size)
		cfg.Limits.MaxBufferedBytes = max(cfg.Limits.MaxBufferedBytes, 2*size)
	}
	if l.ConnectTimeout > 0 {
		cfg.ConnectTimeout = l.ConnectTimeout
	}
	if l.HandshakeTimeout > 0 {
		cfg.HandshakeTimeout = l.HandshakeTimeout
	}
	budget := l.InboundBufferBytes
	if budget == 0 {
		budget = DefaultInboundBufferBytes
	}
	cfg.InboundBudget = chunk.NewBudget(budget)
	return cfg
}
