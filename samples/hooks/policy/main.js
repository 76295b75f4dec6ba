// A server-wide access policy written as a JavaScript hook (docs/hooks.md).
//
// Copy this folder into the origin's hooks folder (./hooks beside ./apps, or -hooks DIR): it then
// applies to every client of every app, direct or through an edge, before the app's own
// handlers. Edit it while clients are connected: the new policy applies within a second, nobody
// is dropped. A handler that throws, runs too long or returns something unexpected refuses the
// request (fail closed) and the error is logged with its JS stack.

// Apps whose publishers must give ?key=... (rtmp://host/live/STREAM?key=...). A real deployment
// keeps its secrets out of code: see the auth.token module.
var publishKeys = { live: "change-me-too" };

// Addresses that may not connect at all.
var banned = { "203.0.113.7": true };

// Connects per address in the current minute: more than connectsPerMinute are refused. The
// counts start again after a reload (the hook's variables are not carried over).
var connectsPerMinute = 120;
var connects = {};
setInterval(function () { connects = {}; }, 60 * 1000);

server.onConnect = function (req) {
  if (banned[req.ip]) return { reject: "banned" };
  connects[req.ip] = (connects[req.ip] || 0) + 1;
  if (connects[req.ip] > connectsPerMinute) return { reject: "too many connections, try again later" };
  if (req.app === "old-live") return { redirect: "rtmp://" + "media.example.com/live", reason: "moved" };
  // Clients from the page of a partner may only play, and only under partner/.
  if (req.pageUrl.indexOf("https://partner.example.com/") === 0) {
    return { readAccess: "partner", writeAccess: "" };
  }
  // undefined: accepted (the app still decides in its own onConnect)
};

server.onPublish = function (req) {
  var key = publishKeys[req.app];
  if (key !== undefined && req.query.key !== key) {
    return { reject: "publishing to " + req.app + " needs a key" };
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(req.stream)) return { reject: "bad stream name" };
  return true;
};

server.onEvent = function (ev) {
  if (ev.type === "publish" || ev.type === "unpublish") {
    trace(ev.type, ev.app + "/" + ev.instance + "/" + ev.stream, "from", ev.ip);
  }
};
