// live — the default live-streaming application.
//
// Anyone may connect, publish and play:   rtmp://HOST/live/STREAM
// Optional publish keys: list them in app.json as {"config": {"publishKeys": ["k1", "k2"]}}; a
// publisher then has to append one to the stream name — rtmp://HOST/live/STREAM?key=k1, or in
// OBS: Server rtmp://HOST/live, Stream Key STREAM?key=k1. Players never need it.
//
// Copy this folder to start your own app: every folder under apps/ is an application.

application.onConnect = function (client) {
	return true; // accept everyone
};

application.onPublish = function (client, stream) {
	var keys = (application.config && application.config.publishKeys) || [];
	if (keys.length === 0) {
		return true; // no keys configured: open publishing
	}
	var key = queryParam(stream.publishQueryString, "key");
	if (keys.indexOf(key) < 0) {
		trace("refused publish of " + stream.name + " from " + client.ip + ": bad or missing key");
		return false; // the publisher gets NetStream.Publish.BadName
	}
	return true;
};

// queryParam returns the value of name in a query string like "key=abc&x=1" ("" if absent).
function queryParam(query, name) {
	var parts = (query || "").split("&");
	for (var i = 0; i < parts.length; i++) {
		var kv = parts[i].split("=");
		if (decodeURIComponent(kv[0]) === name) {
			return decodeURIComponent(kv.slice(1).join("="));
		}
	}
	return "";
}
