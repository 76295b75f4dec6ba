package admin

// InboundBudgetMetrics are the figures of a server's budget for the reassembly buffers of all its
// client connections (core/chunk.Budget): what they hold, the budget, and how many connections
// were closed to stay within it.
func InboundBudgetMetrics(held, limit int64, evictions uint64) []Metric {
	return []Metric{
		{Name: "fmsgo_inbound_buffer_bytes", Help: "Capacity of the reassembly buffers held by client connections.", Kind: Gauge,
			Samples: []Sample{{Value: float64(held)}}},
		{Name: "fmsgo_inbound_buffer_limit_bytes", Help: "Budget for those buffers (0: none).", Kind: Gauge,
			Samples: []Sample{{Value: float64(limit)}}},
		{Name: "fmsgo_inbound_budget_evictions_total", Help: "Connections closed because the buffers of all clients passed the budget (the largest holder each time).", Kind: Counter,
			Samples: []Sample{{Value: float64(evictions)}}},
	}
}

// RTMPWriteMetrics are fmsgo_rtmp_writes_total and fmsgo_rtmp_messages_out_total: the socket
// writes made to RTMP clients and the messages they carried (rtmpconn.Runtime.Totals); their
// ratio is how well media writes are coalesced.
func RTMPWriteMetrics(writes, messages uint64) []Metric {
	return []Metric{
		{Name: "fmsgo_rtmp_writes_total", Help: "Socket writes to RTMP clients.", Kind: Counter,
			Samples: []Sample{{Value: float64(writes)}}},
		{Name: "fmsgo_rtmp_messages_out_total", Help: "RTMP messages written to clients (many per write when coalesced).", Kind: Counter,
			Samples: []Sample{{Value: float64(messages)}}},
	}
}

// Refusals are one listener's connections closed at accept, by reason (core/netserver).
type Refusals struct {
	Listener                 string
	Global, PerAddress, Rate uint64
}

// ConnectionsRefused is fmsgo_connections_refused_total{listener, reason}: connections closed at
// accept because of the global cap, the per-address cap or the per-address accept rate.
func ConnectionsRefused(listeners ...Refusals) Metric {
	m := Metric{Name: "fmsgo_connections_refused_total", Kind: Counter,
		Help: "Connections closed at accept by the connection limits (reason: global, per_address, rate)."}
	for _, l := range listeners {
		for _, r := range []struct {
			reason string
			n      uint64
		}{{"global", l.Global}, {"per_address", l.PerAddress}, {"rate", l.Rate}} {
			m.Samples = append(m.Samples, Sample{Labels: map[string]string{"listener": l.Listener, "reason": r.reason}, Value: float64(r.n)})
		}
	}
	return m
}
