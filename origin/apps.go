package origin

import "github.com/fmsgo/fmsgo/core/live"

// hasPublisher reports whether APP/INSTANCE has a live publisher of name (tests, stats).
func (s *Server) hasPublisher(app, inst, name string) bool {
	hub := s.engine.Hubs()[app+"/"+inst]
	if hub == nil {
		return false
	}
	for _, st := range hub.Streams() {
		if st.Name == name && st.Publishing {
			return true
		}
	}
	return false
}

func (s *Server) streamInfo(app, name string) (info live.StreamInfo, ok bool) {
	hub := s.engine.Hubs()[app+"/"+DefaultInstance]
	if hub == nil {
		return info, false
	}
	for _, st := range hub.Streams() {
		if st.Name == name {
			return st, true
		}
	}
	return info, false
}

func (s *Server) streamBytes(app, name string) uint64 {
	st, _ := s.streamInfo(app, name)
	return st.BytesIn
}

func (s *Server) subscriberCount(app, name string) int {
	st, _ := s.streamInfo(app, name)
	return st.Subscribers
}
