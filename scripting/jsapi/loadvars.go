package jsapi

import "github.com/dop251/goja"

type webBridge struct{}

func (a *App) installLoadVars() error { return nil }

func (a *App) xmlWebMethods(hc *hostClass) { _ = goja.Undefined }
