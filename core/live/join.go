package live

import "time"

// JoinLimits are the [limits] keys that shape a late joiner's start, the same on the origin and
// the edge (embedded in their Limits). The trade-off is latency against a first frame at once:
// the default burst of 41 video frames lets ffmpeg/ffplay decode at once (they estimate the
// frame rate from 40 frame durations before their first frame), and starts every joiner up to
// one GOP further behind the live edge; join_video_frames = 1 starts at the last keyframe, the
// lowest latency for Flash-style players, and makes ffmpeg wait about a second.
type JoinLimits struct {
	JoinVideoFrames int           `toml:"join_video_frames"` // Config.JoinVideoFrames (41)
	JoinMaxBehind   time.Duration `toml:"join_max_behind"`   // Config.JoinMaxBehind (3 s)
}

// ApplyJoin returns c with the keys that are set.
func (j JoinLimits) ApplyJoin(c Config) Config {
	if j.JoinVideoFrames > 0 {
		c.JoinVideoFrames = j.JoinVideoFrames
	}
	if j.JoinMaxBehind > 0 {
		c.JoinMaxBehind = j.JoinMaxBehind
	}
	return c
}
