package config

import (
	"reflect"
	"strings"
)

// Changed lists the TOML keys whose values differ between two configs of the same struct type
// ("rtmp", "limits.max_connections"), in field order, so that a reload can say exactly which
// settings it applied and which need a restart. Fields tagged `toml:"-"` and unexported fields
// are not configuration and are skipped; nested structs are compared key by key.
func Changed(old, next any) []string {
	a, b := reflect.ValueOf(old), reflect.ValueOf(next)
	if a.Type() != b.Type() {
		panic("config.Changed: different types " + a.Type().String() + " and " + b.Type().String())
	}
	return changed(a, b, "", nil)
}

func changed(a, b reflect.Value, prefix string, out []string) []string {
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("toml") == "" {
			// an embedded struct's keys sit in the outer table, as TOML decodes them
			out = changed(a.Field(i), b.Field(i), prefix, out)
			continue
		}
		key := tomlKey(f)
		if key == "" {
			continue
		}
		va, vb := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type.NumField() > 0 && f.Type.PkgPath() != "time" {
			out = changed(va, vb, prefix+key+".", out)
			continue
		}
		if !equalValues(va, vb) {
			out = append(out, prefix+key)
		}
	}
	return out
}

// tomlKey is the key of a struct field, "" for fields that are not configuration.
func tomlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("toml")
	name, _, _ := strings.Cut(tag, ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// equalValues compares two values of one field; an empty map or slice equals a nil one (a file
// with an empty [routes] table says the same as one without).
func equalValues(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Map, reflect.Slice:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
