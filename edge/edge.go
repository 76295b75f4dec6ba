// Package edge will be the edge server as a library: it holds client connections and multiplexes
// them to the origins over one trunk connection per origin (see the edge issue).
package edge
