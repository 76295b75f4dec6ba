package jsapi

// containJS wraps the built-ins that build a large result in one uninterruptible Go call. It is
// a strict-mode function of (CAP, MAXLEN): CAP is the largest string result in UTF-16 code units
// (= bytes for ASCII), MAXLEN the largest array a built-in may build or walk. Every helper it uses
// is captured when it runs, so later changes to globals by app code cannot unwrap it.
const containJS = `(function (CAP, MAXLEN) {
'use strict';
var apply = Reflect.apply, construct = Reflect.construct, defProp = Object.defineProperty,
	getDesc = Object.getOwnPropertyDescriptor, ownKeys = Reflect.ownKeys, isArray = Array.isArray,
	RE = RangeError, S = String, Obj = Object, floor = Math.floor, min = Math.min,
	P = Proxy, JSONobj = JSON, AB = globalThis.ArrayBuffer, RegExpC = RegExp, symHas = Symbol.hasInstance,
	ordinaryHasInstance = Function.prototype[Symbol.hasInstance], reflectGet = Reflect.get, SAB = globalThis.SharedArrayBuffer,
	wrapped = new Map();

function tooBig(what, n) {
	throw new RE(what + ': result too large (' + n + ' > ' + CAP + ')');
}
function tooLong(what, n) {
	throw new RE(what + ': array too long (' + n + ' > ' + MAXLEN + ' elements)');
}
function toInt(v) {
	var n = +v;
	if (n !== n) return 0;
	if (n === Infinity || n === -Infinity) return n;
	return n < 0 ? -floor(-n) : floor(n);
}
function toLen(v) { var n = toInt(v); return n > 0 ? n : 0; }
function lenOf(o) { return toLen(o.length); }

// install replaces obj[name] by make(orig), keeping name, length and attributes.
function install(obj, name, make) {
	var d = getDesc(obj, name);
	if (!d || typeof d.value !== 'function') return;
	var orig = d.value, w = wrapped.get(orig); // Array.prototype.values is also [Symbol.iterator]
	if (w === undefined) {
		w = make(orig);
		defProp(w, 'name', {value: orig.name, configurable: true});
		defProp(w, 'length', {value: orig.length, configurable: true});
		wrapped.set(orig, w);
	}
	defProp(obj, name, {value: w, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable});
}

// ---- strings ----
var SP = String.prototype;
install(SP, 'repeat', function (orig) { return { repeat(count) {
	if (this == null) return apply(orig, this, arguments);
	var s = S(this), n = toInt(count);
	if (s.length * n > CAP) tooBig('String.prototype.repeat', s.length * n);
	return apply(orig, s, [n]);
} }.repeat; });
function pad(name) {
	install(SP, name, function (orig) { return { pad(maxLength, fill) {
		if (this == null) return apply(orig, this, arguments);
		var s = S(this), n = toLen(maxLength), f = fill === undefined ? undefined : S(fill);
		if (n > CAP && n > s.length && f !== '') tooBig('String.prototype.' + name, n);
		return apply(orig, s, [n, f]);
	} }.pad; });
}
pad('padStart'); pad('padEnd');
install(SP, 'concat', function (orig) { return { concat() {
	if (this == null) return apply(orig, this, arguments);
	var s = S(this), n = s.length, args = [];
	for (var i = 0; i < arguments.length; i++) { args[i] = S(arguments[i]); n += args[i].length; }
	if (n > CAP) tooBig('String.prototype.concat', n);
	return apply(orig, s, args);
} }.concat; });
var indexOf = SP.indexOf, origReplace = SP.replace, exec = RegExp.prototype.exec, MAXMATCH = MAXLEN >> 2;
function countPieces(s, sep, limit) {
	if (sep === '') return min(s.length, limit);
	if (s.length / sep.length + 1 <= MAXLEN) return 0;
	var n = 1, i = 0;
	while (n <= MAXLEN && (i = apply(indexOf, s, [sep, i])) >= 0) { n++; i += sep.length; }
	return n;
}
install(SP, 'split', function (orig) { return { split(separator, limit) {
	if (this == null) return apply(orig, this, arguments);
	var lim = limit === undefined ? MAXLEN + 1 : min(limit >>> 0, MAXLEN + 1);
	if (typeof separator === 'string' && typeof this === 'string') {
		var n = countPieces(this, separator, lim);
		if (n > MAXLEN) tooLong('String.prototype.split', n);
	}
	var r = apply(orig, this, [separator, lim]);
	if (r.length > MAXLEN) tooLong('String.prototype.split', r.length);
	return r;
} }.split; });
// countMatches counts what replace would replace, stopping past MAXMATCH (goja spends a few
// hundred bytes per match, so the count is capped as well as the result size). -1: unknown.
function countMatches(s, pattern, all) {
	var n = 0, m, maxMatch = 0;
	if (typeof pattern === 'string') {
		var i = 0;
		while (n <= MAXMATCH && (i = apply(indexOf, s, [pattern, i])) >= 0) {
			n++; i += pattern.length || 1;
			if (!all) break;
		}
		return {n: n, max: pattern.length};
	}
	if (!(pattern instanceof RegExpC)) return null;
	var last = pattern.lastIndex;
	if (!pattern.global) {
		m = apply(exec, pattern, [s]);
		pattern.lastIndex = last;
		return {n: m ? 1 : 0, max: m ? m[0].length : 0};
	}
	pattern.lastIndex = 0;
	while (n <= MAXMATCH && (m = apply(exec, pattern, [s])) !== null) {
		n++;
		if (m[0].length > maxMatch) maxMatch = m[0].length;
		if (m[0].length === 0) pattern.lastIndex++;
	}
	pattern.lastIndex = last;
	return {n: n, max: maxMatch};
}
function dollars(r, slen, maxMatch) {
	var n = 0;
	for (var i = 0; i < r.length; i++) {
		if (r[i] !== '$') continue;
		var c = r[i + 1];
		n += (c === '` + "`" + `' || c === "'") ? slen : maxMatch;
	}
	return n;
}
function replacer(name) {
	install(SP, name, function (orig) { return { replace(pattern, replacement) {
		if (this == null) return apply(orig, this, arguments);
		var s = typeof this === 'string' ? this : S(this), what = 'String.prototype.' + name, impl = orig;
		if (pattern === '' && name === 'replaceAll') {
			// goja's replaceAll('') never returns on a non-ASCII string: use the equivalent regexp.
			pattern = new RegExpC('', 'g'); impl = origReplace;
		}
		if (typeof replacement === 'function') {
			var total = s.length, count = 0, user = replacement;
			return apply(impl, s, [pattern, function () {
				if (++count > MAXMATCH) tooLong(what + ' matches', count);
				var r = S(apply(user, undefined, arguments));
				total += r.length;
				if (total > CAP) tooBig(what, total);
				return r;
			}]);
		}
		var rep = S(replacement);
		if (s.length < MAXMATCH && s.length + (s.length + 1) * rep.length <= CAP) return apply(impl, s, [pattern, rep]);
		var c = countMatches(s, pattern, name === 'replaceAll');
		if (c !== null) {
			if (c.n > MAXMATCH) tooLong(what + ' matches', c.n);
			var est = s.length + c.n * (rep.length + dollars(rep, s.length, c.max));
			if (est > CAP) tooBig(what, est);
		}
		return apply(impl, s, [pattern, rep]);
	} }.replace; });
}
replacer('replace'); replacer('replaceAll');

// ---- arrays: no built-in walks or builds more than MAXLEN elements ----
var AP = Array.prototype, cheap = {constructor: 1, push: 1, pop: 1, at: 1, concat: 1, flat: 1, flatMap: 1};
var names = ownKeys(AP);
for (var i = 0; i < names.length; i++) {
	var key = names[i];
	if (typeof key === 'string' && cheap[key] === 1) continue;
	install(AP, key, function (orig) { return { guarded() {
		if (this != null) { var n = lenOf(Obj(this)); if (n > MAXLEN) tooLong('Array.prototype.' + S(orig.name), n); }
		return apply(orig, this, arguments);
	} }.guarded; });
}
install(AP, 'concat', function (orig) { return { concat() {
	if (this == null) return apply(orig, this, arguments);
	var n = isArray(this) ? lenOf(this) : 1;
	for (var i = 0; i < arguments.length; i++) n += isArray(arguments[i]) ? lenOf(arguments[i]) : 1;
	if (n > MAXLEN) tooLong('Array.prototype.concat', n);
	return apply(orig, this, arguments);
} }.concat; });
function flatCount(a, depth, n) {
	var len = lenOf(a);
	n += len;
	if (n > MAXLEN) tooLong('Array.prototype.flat', n);
	if (depth < 1) return n;
	for (var i = 0; i < len; i++) { var e = a[i]; if (isArray(e)) n = flatCount(e, depth - 1, n); }
	return n;
}
install(AP, 'flat', function (orig) { return { flat(depth) {
	if (this == null) return apply(orig, this, arguments);
	var d = depth === undefined ? 1 : toInt(depth);
	flatCount(Obj(this), min(d, 100), 0);
	return apply(orig, this, [d]);
} }.flat; });
install(AP, 'flatMap', function (orig) { return { flatMap(fn, thisArg) {
	if (this == null || typeof fn !== 'function') return apply(orig, this, arguments);
	var n = lenOf(Obj(this));
	if (n > MAXLEN) tooLong('Array.prototype.flatMap', n);
	var total = 0;
	return apply(orig, this, [function () {
		var r = apply(fn, thisArg, arguments);
		total += isArray(r) ? lenOf(r) : 1;
		if (total > MAXLEN) tooLong('Array.prototype.flatMap', total);
		return r;
	}]);
} }.flatMap; });
// join also caps its string result; toString and implicit conversions go through it.
install(AP, 'join', function (orig) { return { join(separator) {
	if (this == null) return apply(orig, this, arguments);
	var o = Obj(this), n = lenOf(o);
	if (n > MAXLEN) tooLong('Array.prototype.join', n);
	var sep = separator === undefined ? ',' : S(separator), total = n > 0 ? (n - 1) * sep.length : 0;
	if (total > CAP) tooBig('Array.prototype.join', total);
	for (var i = 0; i < n; i++) {
		var e = o[i];
		if (typeof e === 'string') { total += e.length; if (total > CAP) tooBig('Array.prototype.join', total); }
	}
	return apply(orig, o, [sep]);
} }.join; });
install(Array, 'from', function (orig) { return { from(items) {
	if (items != null) { var n = lenOf(Obj(items)); if (n > MAXLEN) tooLong('Array.from', n); }
	return apply(orig, this, arguments);
} }.from; });
function argsGuard(obj, name, idx) {
	install(obj, name, function (orig) { return { guarded() {
		var a = arguments[idx];
		if (a != null) { var n = lenOf(Obj(a)); if (n > MAXLEN) tooLong(name, n); }
		return apply(orig, this, arguments);
	} }.guarded; });
}
argsGuard(Function.prototype, 'apply', 1);
argsGuard(Reflect, 'apply', 2);
argsGuard(Reflect, 'construct', 1);

// ---- binary data: ArrayBuffer and typed-array constructors ----
function wrapCtor(name, check) {
	var C = globalThis[name];
	if (typeof C !== 'function') return;
	var hasInstance = { [symHas](o) { return apply(ordinaryHasInstance, C, [o]); } }[symHas];
	var W = new P(C, {
		construct: function (t, args, nt) { check(args); return construct(t, args, nt === W ? t : nt); },
		apply: function (t, self, args) { check(args); return apply(t, self, args); },
		get: function (t, k, r) { return k === symHas ? hasInstance : reflectGet(t, k, r); }
	});
	defProp(C.prototype, 'constructor', {value: W, writable: true, enumerable: false, configurable: true});
	defProp(globalThis, name, {value: W, writable: true, enumerable: false, configurable: true});
}
function bytesCheck(name) {
	return function (args) { var n = toInt(args[0]); if (n > CAP) tooBig(name, n); };
}
wrapCtor('ArrayBuffer', bytesCheck('ArrayBuffer'));
wrapCtor('SharedArrayBuffer', bytesCheck('SharedArrayBuffer'));
var typed = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
	'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
for (var j = 0; j < typed.length; j++) {
	(function (name) {
		var C = globalThis[name];
		if (typeof C !== 'function') return;
		var size = C.BYTES_PER_ELEMENT;
		wrapCtor(name, function (args) {
			var a = args[0], n;
			if (a !== null && typeof a === 'object') {
				if (a instanceof AB || (SAB !== undefined && a instanceof SAB)) return;
				n = lenOf(a);
			} else {
				n = toInt(a);
			}
			if (n * size > CAP) tooBig(name, n * size);
		});
	})(typed[j]);
}

// ---- JSON.stringify: count the output as it is produced ----
install(JSONobj, 'stringify', function (orig) { return { stringify(value, replacer, space) {
	if (replacer !== null && typeof replacer === 'object') {
		var out = apply(orig, JSONobj, arguments); // allowlist form: checked after the fact
		if (typeof out === 'string' && out.length > CAP) tooBig('JSON.stringify', out.length);
		return out;
	}
	var gap = typeof space === 'number' ? min(10, toInt(space)) : typeof space === 'string' ? min(10, space.length) : 0;
	var per = 4 + (gap > 0 ? gap * 4 : 0), total = 0, user = typeof replacer === 'function' ? replacer : null;
	return apply(orig, JSONobj, [value, function (k, v) {
		if (user !== null) v = apply(user, this, [k, v]);
		total += k.length + per + (typeof v === 'string' ? v.length : 8);
		if (total > CAP) tooBig('JSON.stringify', total);
		return v;
	}, space]);
} }.stringify; });
})`
