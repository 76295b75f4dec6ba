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
