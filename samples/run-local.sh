#!/usr/bin/env bash
# `make run`: an origin and an edge on this machine serving ./apps, as DESIGN.md describes:
#   origin: RTMP on 127.0.0.1:1936, trunk on 127.0.0.1:19350
#   edge:   RTMP on :1935, one trunk to the origin
# Publish with
#   ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine -c:v libx264 \
#     -preset veryfast -g 50 -c:a aac -f flv rtmp://127.0.0.1:1935/live/test
# and play with: ffplay rtmp://127.0.0.1:1935/live/test
set -euo pipefail
cd "$(dirname "$0")/.."
./bin/origin -rtmp 127.0.0.1:1936 -trunk 127.0.0.1:19350 -http "" -apps ./apps -log-format console &
origin=$!
trap 'kill $origin 2>/dev/null; wait $origin 2>/dev/null' EXIT INT TERM
./bin/edge -rtmp :1935 -origins 127.0.0.1:19350 -http "" -log-format console "$@"
