package scripting

import (
	"reflect"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/jsloop"
)

// ReloadBudget is how long one instance's swap to new code may take.
const ReloadBudget = 5 * time.Second

// reloadApp compiles the app's new code and swaps it into each running instance. A syntax error
// is logged and the old code keeps running.
func (e *Engine) reloadApp(name string) {
	insts := e.instancesOf(name)
	app, err := LoadApp(e.cfg.AppsDir, name)
	if err != nil {
		e.log.Error().Str("app", name).Err(err).Msg("reload skipped; the running code stays")
		e.reloaded(name, err)
		return
	}
	prg, err := e.compile(app)
	if err != nil {
		e.log.Error().Str("app", name).Err(err).Msg("reload skipped: the new code does not compile; the running code stays")
		e.reloaded(name, err)
		return
	}
	if len(insts) == 0 {
		e.reloaded(name, nil)
	}
	for _, inst := range insts {
		job := func(*goja.Runtime) error {
			err := inst.reload(app, prg)
			e.reloaded(name, err)
			return nil
		}
		if err := inst.loop.PostBudget(job, ReloadBudget); err != nil {
			inst.log.Warn().Err(err).Msg("reload not queued")
		}
	}
}

func (e *Engine) reloaded(app string, err error) {
	if e.afterReload != nil {
		e.afterReload(app, err)
	}
}

// reload is the swap (APP-API.md "Hot reload"), as one job on the instance loop.
func (inst *instance) reload(app *App, prg *goja.Program) error {
	if inst.unloaded {
		return nil
	}
	old := inst.gen
	rt := inst.loop.NewRuntime()
	inst.app = app
	inst.sendBWDone.Store(app.Config.SendBWDone)
	g, err := inst.build(rt, prg, old != nil)
	if err == nil && old != nil {
		err = inst.carry(old, g)
	}
	if err != nil {
		inst.loop.DropRuntime(rt)
		inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("reload failed; the running code stays")
		return err
	}
	if old != nil {
		old.app.Sandboxed = true
		if _, _, err := old.app.CallHandler("onAppStop", old.app.Info("Application.Reload")); err != nil {
			inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("onAppStop (reload) threw")
		}
		inst.loop.DropRuntime(old.rt)
	} else if cur := inst.loop.Runtime(); cur != rt {
		inst.loop.DropRuntime(cur)
	}
	inst.loop.SwapRuntime(rt)
	g.app.Sandboxed = false
	inst.gen, inst.loadErr = g, nil
	inst.failPromises("application reloaded")
	for _, c := range append([]*Client(nil), inst.clients...) {
		if c.state == statePending {
			inst.ask(c)
		}
	}
	inst.log.Info().Msg("application reloaded")
	return nil
}

// carry moves the accepted clients into g: replay of onConnect / onConnectAccept (when the new
// code has no onReload), their own data properties, the changed globals and application
// properties, then onReload per client.
func (inst *instance) carry(old, g *generation) error {
	_, hasReload := g.app.Handler("onReload")
	var moved []*Client
	for _, c := range inst.clients {
		if c.state != stateAccepted {
			continue
		}
		moved = append(moved, c)
		jc := g.objIn(c)
		g.app.AddClient(jc)
		if !hasReload {
			inst.replay(g, c)
		}
		if oj := old.objs[c]; oj != nil {
			copyProps(old, g, oj.Obj, jc.Obj, nil)
		}
	}
	copyProps(old, g, old.rt.GlobalObject(), g.rt.GlobalObject(), old.baseGlob)
	copyProps(old, g, old.app.Application, g.app.Application, old.baseApp)
	if !hasReload {
		return nil
	}
	for _, c := range moved {
		if _, _, err := g.app.CallHandler("onReload", g.objs[c].Obj); err != nil {
			return err
		}
	}
	return nil
}

// replay re-runs onConnect and onConnectAccept for an accepted client, so that methods assigned
// there exist in the new generation; a throw is logged and ignored for that client.
func (inst *instance) replay(g *generation, c *Client) {
	jc := g.objs[c]
	for _, h := range []string{"onConnect", "onConnectAccept"} {
		if _, _, err := g.app.CallHandler(h, g.connectArgs(jc, c)...); err != nil {
			inst.log.Warn().Str("client", c.sess.ID()).Str("err", jsloop.FormatError(err)).Msg(h + " replay threw; ignored")
		}
	}
}

// unsharedKeys are properties of application that belong to each generation.
var unsharedKeys = map[string]bool{"clients": true, "name": true, "server": true, "hostname": true, "config": true}

// copyProps copies from's own data properties to to through the AMF model (graphs, cycles and
// key order kept). With base, only keys whose value differs from base are copied (what the
// running app changed since it started); functions are never copied.
func copyProps(old, g *generation, from, to interface {
	Keys() []string
	Get(string) goja.Value
	Set(string, any) error
}, base map[string]any) {
	isGlobal := base != nil && from == any(old.rt.GlobalObject())
	for _, k := range from.Keys() {
		if (isGlobal && old.builtins[k]) || (from == any(old.app.Application) && unsharedKeys[k]) {
			continue
		}
		v := from.Get(k)
		if _, fn := goja.AssertFunction(v); fn || v == nil {
			continue
		}
		val, err := old.app.Conv.FromJS(v)
		if err != nil {
			continue
		}
		if base != nil {
			if b, ok := base[k]; ok && reflect.DeepEqual(b, val) {
				continue
			}
		}
		_ = to.Set(k, g.app.Conv.ToJS(val))
	}
}

// snapshot records obj's own non-function values (skipping skip's keys) in the AMF model.
func (g *generation) snapshot(obj *goja.Object, skip map[string]bool) map[string]any {
	out := map[string]any{}
	for _, k := range obj.Keys() {
		if skip[k] {
			continue
		}
		v := obj.Get(k)
		if _, fn := goja.AssertFunction(v); fn || v == nil {
			continue
		}
		if val, err := g.app.Conv.FromJS(v); err == nil {
			out[k] = val
		}
	}
	return out
}
