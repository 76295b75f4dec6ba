// live: the default live-streaming app. Everyone may connect, publish and play.
// Copy this folder to start your own app: every folder under apps/ is an application,
// reachable as rtmp://HOST/FOLDER[/INSTANCE].
application.onConnect = function (client) {
	return true;
};
