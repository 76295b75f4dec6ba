package rtmpconn

import (
	"context"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/netserver"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// RefuseLimit bounds how long a refused client is served to tell it why: its handshake and its
// connect must arrive within it.
const RefuseLimit = 2 * time.Second

// RefuseConnect serves nc only as far as its connect command and answers that with
// NetConnection.Connect.Rejected carrying description, under the pre-connect limits and
// RefuseLimit: the clear status a client refused by a server's connection limits gets (OBS and
// Flash show it; a reset would look like a network fault). Anything else the client sends before
// connect is ignored. It closes nc.
func RefuseConnect(ctx context.Context, nc net.Conn, cfg Config, description string, log zerolog.Logger) {
	cfg.HandshakeTimeout = min(cfg.withDefaults().HandshakeTimeout, RefuseLimit)
	cfg.ConnectTimeout = min(cfg.withDefaults().ConnectTimeout, RefuseLimit)
	ctx, cancel := context.WithTimeout(ctx, RefuseLimit)
	defer cancel()
	c := New(nc, cfg, refuser{description}, log)
	_ = c.Serve(ctx)
}

// refuser is the Handler of a refused connection.
type refuser struct{ description string }

func (r refuser) HandleCommand(c *Conn, _ uint32, cmd *rtmpmsg.Command) error {
	if cmd.Name != "connect" {
		return nil
	}
	return c.SendConnectReject(cmd.TxnID, StatusInfo("error", "NetConnection.Connect.Rejected", r.description))
}

func (refuser) HandleData(*Conn, uint32, uint32, *rtmpmsg.Data) error { return nil }

func (refuser) HandleMedia(*Conn, uint32, uint8, uint32, []byte) error { return nil }

func (refuser) HandleSharedObject(*Conn, *rtmpmsg.SharedObjectMessage, bool) error { return nil }

func (refuser) Closed(*Conn, error) {}

// Refuser is a listener's netserver.Refuser for RTMP clients: RefuseConnect with the refusal's
// description (netserver.RefusalDescription).
func Refuser(cfg Config, log zerolog.Logger) netserver.Refuser {
	return func(ctx context.Context, nc net.Conn, reason string) {
		RefuseConnect(ctx, nc, cfg, netserver.RefusalDescription(reason), log)
	}
}
