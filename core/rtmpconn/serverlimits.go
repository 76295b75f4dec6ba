package rtmpconn

import (
	"time"

	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/netserver"
)

// DefaultInboundBufferBytes is a server's default budget for the reassembly buffers of all its
// client connections together: room for hundreds of publishers' keyframes, while a crowd of
// connections each within its own limits cannot take the process's memory.
const DefaultInboundBufferBytes = 256 << 20

// ServerLimits are the [limits] keys that bound an RTMP listener's clients, the same on the
// origin and the edge (embedded in their Limits): who may connect and what a connection may cost
// before and after connect. Zero fields keep the defaults; negative ones turn a limit off.
type ServerLimits struct {
	MaxConnections           int           `toml:"max_connections"`             // clients served at once (10,000)
	MaxConnectionsPerAddress int           `toml:"max_connections_per_address"` // from one address, IPv6 one /64 (100)
	AcceptRate               float64       `toml:"accept_rate"`                 // new connections a second from one address (20)...
	AcceptBurst              int           `toml:"accept_burst"`                // ...after a burst of this many (100)
	HandshakeTimeout         time.Duration `toml:"handshake_timeout"`           // from accept to the end of the handshake (5 s)
	MaxMessageBytes          int           `toml:"max_message_bytes"`           // largest message from a client once connected (4 MiB)
	ConnectTimeout           time.Duration `toml:"connect_timeout"`             // from the end of the handshake to an accepted connect (5 s)
	InboundBufferBytes       int64         `toml:"inbound_buffer_bytes"`        // every client's reassembly buffers together (256 MiB)
}

// Accept is the listener's accept-time limits (netserver.DefaultLimits for zero fields).
func (l ServerLimits) Accept() netserver.Limits {
	return netserver.Limits{MaxConns: l.MaxConnections, MaxPerAddress: l.MaxConnectionsPerAddress,
		AcceptRate: l.AcceptRate, AcceptBurst: l.AcceptBurst}.OrDefaults()
}

// Apply returns cfg with l applied, a new Runtime and, unless l disables it, a new inbound
// budget: call it once per server, so that the runtime and the budget are that server's alone.
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
	cfg.Runtime = NewRuntime()
	budget := l.InboundBufferBytes
	if budget == 0 {
		budget = DefaultInboundBufferBytes
	}
	cfg.InboundBudget = chunk.NewBudget(budget)
	return cfg
}
