package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// publisherResult is what one publisher did.
type publisherResult struct {
	published    bool
	bytes        uint64
	messages     uint64
	disconnected bool
	err          error
}

// startPublisher connects and publishes name, then returns a function that streams src in real
// time until ctx ends. Publishing is set up before any player starts, so players find the stream.
func startPublisher(ctx context.Context, cfg *Config, name string, src mediaSource, local net.Addr) (func() publisherResult, error) {
	c, err := rtmpclient.Dial(ctx, cfg.URL, rtmpclient.Options{Timeout: cfg.Timeout, LocalAddr: local})
	if err != nil {
		return nil, err
	}
	sid, err := c.CreateStream(ctx)
	if err == nil {
		_, err = c.Publish(ctx, sid, name, "live")
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("publish %s: %w", name, err)
	}
	go func() { // nobody needs the publisher's later events: keep its read loop going
		for range c.Events() {
		}
	}()
	return func() publisherResult { return stream(ctx, c, sid, src) }, nil
}

// stream paces src by its timestamps and writes it; it allocates nothing per frame.
func stream(ctx context.Context, c *rtmpclient.Client, sid uint32, src mediaSource) publisherResult {
	defer c.Close()
	res := publisherResult{published: true}
	meta := &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "encoder", Value: "fmsgo loadtest"}}}
	if err := c.WriteData(sid, "@setDataFrame", "onMetaData", meta); err != nil {
		return failed(ctx, res, err)
	}
	for _, f := range src.headers() {
		if err := writeFrame(c, sid, f); err != nil {
			return failed(ctx, res, err)
		}
	}
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		f := src.next()
		if wait := time.Until(start.Add(time.Duration(f.ts) * time.Millisecond)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return res
			case <-timer.C:
			}
		}
		if err := writeFrame(c, sid, f); err != nil {
			return failed(ctx, res, err)
		}
		res.bytes += uint64(len(f.body))
		res.messages++
	}
}

func writeFrame(c *rtmpclient.Client, sid uint32, f frame) error {
	if f.typeID == 18 { // FLV script tag: metadata, sent as @setDataFrame + the tag's AMF
		p := append(amf.AppendString0(nil, "@setDataFrame"), f.body...)
		return c.WriteMessage(chunkHeader(sid, 18), p)
	}
	return c.WriteMedia(sid, f.typeID, f.ts, f.body)
}

func chunkHeader(sid uint32, typeID uint8) chunk.Header {
	return chunk.Header{CSID: 5, TypeID: typeID, StreamID: sid}
}

func failed(ctx context.Context, res publisherResult, err error) publisherResult {
	if ctx.Err() == nil {
		res.disconnected, res.err = true, err
	}
	return res
}
