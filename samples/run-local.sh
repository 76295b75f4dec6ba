#!/usr/bin/env bash
# `make run`: an origin on this machine serving ./apps. Until the edge exists, the origin listens
# on :1935 itself; publish with
#   ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine -c:v libx264 \
#     -preset veryfast -g 50 -c:a aac -f flv rtmp://127.0.0.1:1935/live/test
# and play with: ffplay rtmp://127.0.0.1:1935/live/test
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/origin -rtmp :1935 -trunk 127.0.0.1:19350 -apps ./apps -log-format console "$@"
