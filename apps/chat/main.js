// chat — a small chat room, one per instance: rtmp://HOST/chat/ROOM
//
// Connect with your nickname as the first connect argument
// (NetConnection.connect("rtmp://host/chat/lobby", "alice")). Then:
//   nc.call("say", null, "hello")      → every client's onMessage(nick, text) is called
//   nc.call("who", responder)          → the list of nicknames online
// Clients are told of arrivals and departures with onJoin(nick) / onLeave(nick).

application.onAppStart = function () {
	trace("chat room " + application.name + " opened");
};

application.onConnect = function (client, nick) {
	nick = String(nick || "").replace(/^\s+|\s+$/g, "");
	if (nick === "" || nick.length > 32) {
		application.rejectConnection(client, { message: "choose a nickname of 1 to 32 characters" });
		return;
	}
	if (nickTaken(nick)) {
		application.rejectConnection(client, { message: "the nickname " + nick + " is taken" });
		return;
	}
	client.nick = nick;
	application.acceptConnection(client);
	application.broadcastMsg("onJoin", nick);
};

application.onDisconnect = function (client) {
	if (client.nick) {
		application.broadcastMsg("onLeave", client.nick);
	}
};

// Methods on Client.prototype can be called by every client with NetConnection.call.
Client.prototype.say = function (text) {
	text = String(text).substr(0, 1000);
	application.broadcastMsg("onMessage", this.nick, text);
	return true;
};

Client.prototype.who = function () {
	var nicks = [];
	for (var i = 0; i < application.clients.length; i++) {
		nicks.push(application.clients[i].nick);
	}
	return nicks;
};

function nickTaken(nick) {
	for (var i = 0; i < application.clients.length; i++) {
		if (application.clients[i].nick === nick) {
			return true;
		}
	}
	return false;
}
