// Package authtoken is the auth.token module: a protected request (by default a publish; also
// a connect or a play if configured) must carry a token signed with one of the operator's
// keys, bound to the application, the stream and the action, and not expired. A stream key
// that leaks can be replayed forever; a token stops working at its expiry and only for the
// stream it names, and the keys that sign tokens never leave the operator's machines.
//
// # Config
//
//	[modules."auth.token"]
//	keys_file = "token.keys"      # relative to the config file's folder
//	protect = ["publish", "play"] # default ["publish"]; also "connect"
//	leeway = "30s"                # clock skew allowed (default none, at most 1h)
//	param = "token"               # the query parameter (default)
//	stream_token_only = false     # true: ignore a token on the connect URL for publish/play
//
// The keys file has one `KID SECRET` per line (`#` comments). SECRET's bytes are the HMAC key,
// at least 16 of them (`openssl rand -base64 32`, or `fmsgo-token -genkey KID`). Several key
// ids allow rotation: add a new line, sign new tokens with its id, remove the old line once
// the old tokens have expired. The file is read when the origin starts; keep it chmod 600.
//
// # Where the token goes
//
// On the stream name, which is where ffmpeg and OBS put a "stream key":
//
//	ffmpeg -re -i in.mp4 -c copy -f flv "rtmp://host/live/cam?token=TOKEN"
//	ffplay "rtmp://host/live/cam?token=TOKEN"
//
// or on the connect URL (rtmp://host/live?token=TOKEN), which a publish or play without a
// token of its own then uses (unless stream_token_only). A protected connect needs its token
// on the connect URL; ffmpeg sends a URL's query with the stream name, so with ffmpeg protect
// publish and play rather than connect. A token that allows publish or play on an application
// also allows connecting to it.
//
// # Token
//
//	v1.KID.PAYLOAD.MAC
//
// PAYLOAD is base64url (no padding) of a JSON object: {"app":"live","stream":"cam",
// "act":["publish"],"exp":1767225600} with an optional "nbf" (not before); exp and nbf are Unix
// seconds. MAC is base64url of HMAC-SHA256 under KID's secret of the text `v1.KID.PAYLOAD`.
// "app" is an application ("live", any instance), one instance ("live/room1"), or "*"; "stream"
// is a name, a prefix ending in "*" ("cam-*"), or "*"; "act" names connect, publish, play.
// Every character is URL-safe, so a token goes into a query unescaped. The MAC is checked
// (in constant time) before the payload is decoded; an unknown field refuses the token.
//
// # Minting
//
// From Go: Sign(key, kid, Claims{App: "live", Stream: "cam", Actions: []plugin.Action{
// plugin.ActPublish}, Expires: time.Now().Add(time.Hour)}). From a shell, with the command in
// cmd/fmsgo-token (go build -o bin/fmsgo-token ./origin/modules/authtoken/cmd/fmsgo-token):
//
//	fmsgo-token -genkey k2 >> token.keys                  # a new random key line
//	fmsgo-token -keys token.keys -app live -stream cam -act publish -ttl 2h
//	fmsgo-token -keys token.keys -verify TOKEN            # what a token grants, or why not
//
// # What the client is told
//
// A refused publish gets NetStream.Publish.BadName, a play NetStream.Play.Failed, a connect
// NetConnection.Connect.Rejected; the description says why: "token required to publish
// (?token=)", "malformed token: ...", "token signed with an unknown key", "bad token signature",
// "token expired 5m0s ago", "token not valid yet", "token is for another application", "token
// is for another stream than ...", "token does not allow this action: play". Neither the token
// nor a key is logged; refusals are logged at info by the plug-in host, with the reason.
package authtoken
