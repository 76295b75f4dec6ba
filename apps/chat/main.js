// chat: placeholder until the scripting engine lands; accepts everyone.
application.onConnect = function (client) {
	return true;
};
