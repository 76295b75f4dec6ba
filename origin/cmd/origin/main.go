// Command origin runs the fmsgo origin: RTMP clients and edges connect to the applications found
// under -apps. It drains and exits on SIGINT/SIGTERM; SIGHUP rescans the apps folder and re-reads
// -config. It is built with every plug-in module shipped with fmsgo (origin/modules/standard);
// origin/cmd/fmsgo-build makes an origin with other modules too (docs/plugins.md).
package main

import (
	_ "github.com/fmsgo/fmsgo/origin/modules/standard"
	"github.com/fmsgo/fmsgo/origin/originmain"
)

func main() { originmain.Main() }
