package origin

import (
	"github.com/fmsgo/fmsgo/core/admin"
	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
)

// acceptLimits are the RTMP listener's limits from [limits]: max_connections (10,000),
// max_connections_per_address (100), accept_rate (20 new connections a second per address) and
// accept_burst (100); 0 takes the default, negative turns the limit off.
func (l Limits) acceptLimits() netserver.Limits {
	return netserver.Limits{MaxConns: l.MaxConnections, MaxPerAddress: l.MaxConnectionsPerAddress,
		AcceptRate: l.AcceptRate, AcceptBurst: l.AcceptBurst}.OrDefaults()
}

// connConfig is the client connections' configuration with the [limits] keys applied and the
// server's own inbound budget.
func (l Limits) connConfig() rtmpconn.Config {
	return rtmpconn.ServerLimits{HandshakeTimeout: l.HandshakeTimeout, MaxMessageBytes: l.MaxMessageBytes,
		ConnectTimeout: l.ConnectTimeout, InboundBufferBytes: l.InboundBufferBytes}.Apply(l.Conn)
}

// refusedMetric is the RTMP listener's refusals at accept (none before Start).
func refusedMetric(rtmp *netserver.Server) admin.Metric {
	if rtmp == nil {
		return admin.ConnectionsRefused()
	}
	r := rtmp.Refused()
	return admin.ConnectionsRefused(admin.Refusals{Listener: "rtmp", Global: r.Global, PerAddress: r.PerAddress, Rate: r.Rate})
}
