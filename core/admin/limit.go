package admin

import (
	"fmt"
	"hash/fnv"
	"sort"
	"unicode/utf8"
)

// Bounds on what a scrape exposes. Label values can be chosen by clients (an instance name is
// whatever a connect asked for), so an unbounded label would let anyone grow /metrics and the
// scraper's series database; these caps keep both small whatever the clients do.
const (
	// MaxLabelValue is the longest label value written, in bytes. A longer one keeps its start
	// and ends in "~" and a hash of the whole, so two long names stay two series.
	MaxLabelValue = 128
	// MaxSeries is how many series of one metric are written; the rest are summed into one
	// series whose label values are all OtherLabel.
	MaxSeries = 500
	// OtherLabel is the label value of the series that sums a metric's overflow.
	OtherLabel = "_other_"
)

// Capped bounds ms for exposition: label values longer than MaxLabelValue are shortened, and a
// metric's series past MaxSeries (in label order, so the kept ones are stable from scrape to
// scrape) are summed into one OtherLabel series. Series that become identical are summed.
func Capped(ms []Metric) []Metric {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		out[i] = capMetric(m)
	}
	return out
}

func capMetric(m Metric) Metric {
	byLabels := make(map[string]int, len(m.Samples))
	samples := make([]Sample, 0, len(m.Samples))
	for _, s := range m.Samples {
		s.Labels = shortLabels(s.Labels)
		key := labelString(s.Labels)
		if i, ok := byLabels[key]; ok {
			samples[i].Value += s.Value
			continue
		}
		byLabels[key] = len(samples)
		samples = append(samples, s)
	}
	if len(samples) <= MaxSeries {
		m.Samples = samples
		return m
	}
	sort.SliceStable(samples, func(i, j int) bool { return labelString(samples[i].Labels) < labelString(samples[j].Labels) })
	other := Sample{Labels: map[string]string{}}
	for k := range samples[0].Labels {
		other.Labels[k] = OtherLabel
	}
	for _, s := range samples[MaxSeries-1:] {
		other.Value += s.Value
	}
	m.Samples = append(samples[:MaxSeries-1:MaxSeries-1], other)
	return m
}

// shortLabels returns l, or a copy with every over-long value shortened.
func shortLabels(l map[string]string) map[string]string {
	long := false
	for _, v := range l {
		long = long || len(v) > MaxLabelValue
	}
	if !long {
		return l
	}
	c := make(map[string]string, len(l))
	for k, v := range l {
		c[k] = shortValue(v)
	}
	return c
}

// shortValue keeps a valid UTF-8 start of v and a hash of all of v, MaxLabelValue bytes at most.
func shortValue(v string) string {
	if len(v) <= MaxLabelValue {
		return v
	}
	h := fnv.New64a()
	h.Write([]byte(v))
	tail := fmt.Sprintf("~%016x", h.Sum64())
	cut := MaxLabelValue - len(tail)
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + tail
}
