package scripting

import (
	"github.com/fmsgo/fmsgo/core/plugin"
)

// emit tells the plug-in events modules (EngineConfig.Events) about the instance: loaded,
// reloaded, failed to load or reload, unloaded (reason: why, or the error). A script error
// inside a handler is not an event: it is logged, and a client's call gets its _error.
func (inst *instance) emit(kind plugin.EventKind, reason string) {
	if inst.e.cfg.Events == nil {
		return
	}
	instName := inst.name[len(inst.appName)+1:]
	inst.e.cfg.Events(plugin.Event{Kind: kind, App: inst.appName, Instance: instName, Reason: reason})
}
