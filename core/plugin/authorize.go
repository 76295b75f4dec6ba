package plugin

import (
	"context"
	"fmt"
	"time"
)

// Authorize asks every auth module in config order; the first refusal ends it. Each module has
// its budget; one that runs over it, panics, or answers Pending and never decides refuses the
// request (fail closed), with a reason that says which module and why. The reason is what the
// client's status description says, so a module must not put secrets in it. The modules may
// rewrite req's writable fields.
func (h *Host) Authorize(ctx context.Context, req *Request) Decision {
	if h == nil {
		return Decision{Verdict: Accept}
	}
	for _, m := range h.auth {
		d := m.decide(ctx, req)
		switch d.Verdict {
		case Abstain, Accept:
			continue
		case Redirect:
			if req.Action != ActConnect || d.RedirectURL == "" {
				d.Verdict = Reject
			}
		default:
			d.Verdict = Reject
		}
		if d.Reason == "" {
			d.Reason = "refused by " + m.id
		}
		h.log.Info().Str("module", m.id).Str("action", req.Action.String()).Str("app", req.App).
			Str("stream", req.Stream).Str("client", req.ClientID).Str("reason", d.Reason).Msg("auth refused")
		return d
	}
	return Decision{Verdict: Accept}
}

// HasAuth reports whether any auth module is selected (the session skips building a Request
// otherwise).
func (h *Host) HasAuth() bool { return h != nil && len(h.auth) > 0 }

// decide runs one module within its budget. The server's own context (parent) carries no
// deadline or value a module needs: the call's context is the budget alone.
func (m authModule) decide(parent context.Context, req *Request) (d Decision) {
	var ctx context.Context = newBudgetCtx(m.budget)
	if parent.Done() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, m.budget)
		defer cancel()
	} else {
		defer ctx.(*budgetCtx).cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			d = Decision{Verdict: Reject, Reason: fmt.Sprintf("auth module %s failed", m.id)}
		}
	}()
	d = m.a.Authorize(ctx, req)
	if d.Verdict != Pending {
		return d
	}
	if d.Later == nil {
		return Decision{Verdict: Reject, Reason: "auth module " + m.id + " left the request pending without a channel"}
	}
	select {
	case d = <-d.Later:
		if d.Verdict == Pending {
			return Decision{Verdict: Reject, Reason: "auth module " + m.id + " answered pending twice"}
		}
		return d
	case <-ctx.Done():
		return Decision{Verdict: Reject, Reason: fmt.Sprintf("auth module %s gave no decision within %s", m.id, m.budget.Round(time.Millisecond))}
	}
}

// Name runs the naming modules in order over req (whose Path starts as the default,
// DefaultPath). The caller checks the Path they leave (fs.ValidPath) before using it.
func (h *Host) Name(ctx context.Context, req *NameRequest) error {
	if req.Path == "" {
		req.Path = DefaultPath(req.App, req.Instance, req.Stream)
	}
	if h == nil {
		return nil
	}
	for _, n := range h.namers {
		if err := n.PhysicalName(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// DefaultPath is where a stream's recording lives when no naming module says otherwise:
// APP/streams/INSTANCE/STREAM.flv, FMS's applications/APP/streams/INSTANCE layout under the
// storage root (a stream name with slashes is a subfolder).
func DefaultPath(app, instance, stream string) string {
	return app + "/streams/" + instance + "/" + stream + ".flv"
}
