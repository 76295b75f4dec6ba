package scripting

import (
	"math"
	"reflect"

	"github.com/dop251/goja"
)

// Timer ids as the script sees them are the loop's ids plus timerIDBase: still whole numbers,
// as FMS's interval ids are, but in a range no counter or timestamp (milliseconds or
// microseconds since 1970) reaches, so that a hot reload can tell a timer id in the carried
// state and leave it out (APP-API.md "Hot reload": timer ids are never carried).
const (
	timerIDBase  = 1 << 50
	timerIDRange = 1 << 40
)

var (
	intType   = reflect.TypeOf(int64(0))
	floatType = reflect.TypeOf(0.0)
)

// isTimerID reports whether v is a timer id handed out by a generation.
func isTimerID(v goja.Value) bool {
	var f float64
	switch v.ExportType() {
	case intType, floatType:
		f = v.ToFloat()
	default:
		return false
	}
	return f >= timerIDBase && f < timerIDBase+timerIDRange && f == math.Trunc(f)
}

// wrapTimers replaces the loop's setTimeout/setInterval/clearTimeout/clearInterval in rt by
// versions that shift the ids into the timer-id range. Call it before the app's code runs.
func wrapTimers(rt *goja.Runtime) {
	g := rt.GlobalObject()
	for _, name := range []string{"setTimeout", "setInterval"} {
		orig, ok := goja.AssertFunction(g.Get(name))
		if !ok {
			continue
		}
		_ = g.Set(name, func(call goja.FunctionCall) goja.Value {
			id, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return rt.ToValue(id.ToInteger() + timerIDBase)
		})
	}
	for _, name := range []string{"clearTimeout", "clearInterval"} {
		orig, ok := goja.AssertFunction(g.Get(name))
		if !ok {
			continue
		}
		_ = g.Set(name, func(call goja.FunctionCall) goja.Value {
			arg := call.Argument(0)
			if isTimerID(arg) {
				arg = rt.ToValue(arg.ToInteger() - timerIDBase)
			} else {
				return goja.Undefined() // not an id this runtime handed out
			}
			if _, err := orig(call.This, arg); err != nil {
				panic(err)
			}
			return goja.Undefined()
		})
	}
}
