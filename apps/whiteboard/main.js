// whiteboard — a shared drawing board, one per instance: rtmp://HOST/whiteboard/ROOM
//
// Clients connect with their name as the first connect argument, then use two remote shared
// objects (SharedObject.getRemote(name, nc.uri, persistent) + so.connect(nc)):
//   "board" (persistent)  one slot per stroke ("s1", "s2", ...) and "last", the number of the
//                         latest stroke; it survives restarts. Clients may delete strokes.
//                         Draw with board.send("addStroke", {color: "#f00", points: [x1, y1, x2, y2, ...]}):
//                         the server checks the stroke and adds it as the next slot.
//                         board.send("clearBoard") wipes it.
//   "users"               one slot per connected client (its id) holding its name; read only
//                         for clients.
// The server owns "last": a client that changes or deletes it is overruled (onSync).

var MAX_POINTS = 2000;
var MAX_STROKES = 5000;

var board, users, last;

application.onAppStart = function () {
	board = SharedObject.get("board", true);
	users = SharedObject.get("users");
	last = board.getProperty("last") || 0;

	// so.NAME = function: what clients reach with board.send("NAME", ...).
	board.addStroke = function (stroke) {
		if (!validStroke(stroke)) {
			trace("whiteboard: ignored a malformed stroke");
			return;
		}
		if (board.size() > MAX_STROKES) {
			return;
		}
		last++;
		board.lock(); // the stroke and "last" reach the clients as one update
		board.setProperty("s" + last, { color: String(stroke.color || "#000"), points: stroke.points });
		board.setProperty("last", last);
		board.unlock();
	};
	board.clearBoard = function () {
		board.clear();
		last = 0;
	};
	board.onSync = function (list) {
		for (var i = 0; i < list.length; i++) {
			if (list[i].name === "last" && board.getProperty("last") !== last) {
				board.setProperty("last", last || null);
			}
		}
	};
	trace("whiteboard " + application.name + " ready with " + board.size() + " slots");
};

application.onConnect = function (client, name) {
	name = String(name || "").replace(/^\s+|\s+$/g, "").substr(0, 32);
	client.name = name || "guest";
	client.writeAccess = "board"; // "users" is the server's to write
	return true;
};

application.onConnectAccept = function (client) {
	users.setProperty(client.id, client.name);
};

application.onDisconnect = function (client) {
	users.setProperty(client.id, null);
};

application.onAppStop = function () {
	board.flush();
};

// nc.call("strokeCount", responder) → the number of strokes on the board.
Client.prototype.strokeCount = function () {
	var names = board.getPropertyNames(), n = 0;
	for (var i = 0; i < names.length; i++) {
		if (names[i].charAt(0) === "s") n++;
	}
	return n;
};

function validStroke(s) {
	if (s === null || typeof s !== "object" || !s.points || typeof s.points.length !== "number") {
		return false;
	}
	if (s.points.length < 2 || s.points.length > MAX_POINTS || s.points.length % 2 !== 0) {
		return false;
	}
	for (var i = 0; i < s.points.length; i++) {
		if (typeof s.points[i] !== "number" || !isFinite(s.points[i])) {
			return false;
		}
	}
	return true;
}
