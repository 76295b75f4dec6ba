package jsapi

type xmlClass struct{}
