// Package standard imports every module shipped with fmsgo, so that the stock origin binary has
// them. A custom origin (origin/cmd/fmsgo-build, docs/plugins.md) imports it too, then its own
// modules.
package standard

// One blank import per shipped module (origin/modules/NAME).
import (
	_ "github.com/fmsgo/fmsgo/origin/modules/accesslog"    // events.accesslog
	_ "github.com/fmsgo/fmsgo/origin/modules/authtoken"    // auth.token
	_ "github.com/fmsgo/fmsgo/origin/modules/localstorage" // storage.local
	_ "github.com/fmsgo/fmsgo/origin/modules/sofile"       // sostore.file
	_ "github.com/fmsgo/fmsgo/origin/modules/webhook"      // events.webhook
)
