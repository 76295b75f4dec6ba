package scripting

import (
	"errors"
	"fmt"
	"sync"

	"github.com/fmsgo/fmsgo/core/live"
)

// ErrNoInstance is Engine.Hub's answer for an instance that is not running.
var ErrNoInstance = errors.New("application instance not running")

// Hub is the live hub of the client's app instance: its streams live as long as the instance.
func (c *Client) Hub() *live.Hub { return c.inst.hub }

// Hub lends the live hub of the running instance name ("APP/INSTANCE") to a user that is not a
// client (an edge pulling a stream its clients play): the instance is not unloaded while it is
// lent. release gives it back; calling it twice is harmless. An instance that is not running is
// not started: ErrNoInstance.
func (e *Engine) Hub(name string) (hub *live.Hub, release func(), err error) {
	e.mu.Lock()
	inst := e.instances[name]
	if inst != nil {
		inst.refs++
	}
	e.mu.Unlock()
	if inst == nil {
		return nil, nil, fmt.Errorf("%s: %w", name, ErrNoInstance)
	}
	var once sync.Once
	return inst.hub, func() {
		once.Do(func() {
			e.release(inst)
			inst.post(inst.checkIdle) // it may have been left idle while lent
		})
	}, nil
}

// Hubs is a snapshot of the running instances' hubs by "APP/INSTANCE" (metrics, tests).
func (e *Engine) Hubs() map[string]*live.Hub {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]*live.Hub, len(e.instances))
	for name, inst := range e.instances {
		out[name] = inst.hub
	}
	return out
}
