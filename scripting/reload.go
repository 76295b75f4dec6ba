package scripting

import (
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/plugin"
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
			if err != nil {
				inst.emit(plugin.EvAppError, "reload failed, the running code stays: "+jsloop.FormatError(err))
			} else if !inst.unloaded {
				inst.emit(plugin.EvAppReload, "")
			}
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
	deadline := time.Now().Add(ReloadBudget)
	old, oldApp := inst.gen, inst.app
	rt := inst.loop.NewRuntime()
	inst.app = app
	inst.rules.Store(&app.Config)
	g, err := inst.build(rt, prg, old != nil)
	if err == nil && old != nil {
		err = inst.carry(old, g, deadline)
	}
	if err != nil {
		inst.app = oldApp // the old code keeps serving with its own app.json
		inst.rules.Store(&oldApp.Config)
		if g != nil {
			g.app.CloseFiles()
		}
		inst.loop.DropRuntime(rt)
		inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("reload failed; the running code stays")
		return err
	}
	if old != nil {
		old.app.Sandboxed = true
		if _, _, err := old.app.CallHandler("onAppStop", old.app.Info("Application.Reload")); err != nil {
			inst.log.Error().Str("err", jsloop.FormatError(err)).Msg("onAppStop (reload) threw")
		}
		old.app.CloseFiles()
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
// code has no onReload), the state (carryState), then onReload per client.
func (inst *instance) carry(old, g *generation, deadline time.Time) error {
	_, hasReload := g.app.Handler("onReload")
	var moved []*Client
	for _, c := range inst.clients {
		if c.state != stateAccepted {
			continue
		}
		moved = append(moved, c)
		g.app.AddClient(g.objIn(c))
		if !hasReload {
			inst.replay(g, c)
		}
	}
	if err := old.readState(func() error { return inst.carryState(old, g, moved, deadline) }); err != nil {
		return err
	}
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

// readState runs fn, which reads old's state, with old's effects off (a getter could try one).
// A panic — the budget's interrupt crossing a getter — fails the reload instead of the job.
func (old *generation) readState(fn func() error) (err error) {
	was := old.app.Sandboxed
	old.app.Sandboxed = true
	defer func() {
		old.app.Sandboxed = was
		if r := recover(); r != nil {
			err = fmt.Errorf("carrying the state over: %v", r)
		}
	}()
	return fn()
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
