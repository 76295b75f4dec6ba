package jsapi

type webBridge struct{}
