// Command edge will run the fmsgo edge (client connections multiplexed to the origins over one
// trunk per origin). Until the edge issue lands it only explains that and exits.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "edge: not implemented yet; run bin/origin alone (see README.md)")
	os.Exit(2)
}
