// Generates astronautlabs_amf3.txt: AMF3 encodings produced by the npm package
// @astronautlabs/amf 0.0.6 (an encoder not written here). Run with:
//   cd /tmp && mkdir amfgen && cd amfgen && npm install @astronautlabs/amf@0.0.6 reflect-metadata
//   NODE_PATH=/tmp/amfgen/node_modules node /path/to/core/amf/testdata/gen_astronautlabs.js
// Each line: name <TAB> hex. Only cases that library encodes correctly are kept: its 0.0.6
// release writes wrong vector counts and encodes booleans/null/arrays/byte arrays incorrectly or
// not at all, so those AMF3 fixtures are hand-derived from the specification in amf_test.go.
require('reflect-metadata');
const fs = require('fs');
const path = require('path');
const { AMF3 } = require('@astronautlabs/amf');
const cases = [
  ['number 1', () => AMF3.Value.any(1)],
  ['number 300', () => AMF3.Value.any(300)],
  ['double 1.5', () => AMF3.Value.any(1.5)],
  ['string', () => AMF3.Value.any('hello')],
  ['utf8 emoji', () => AMF3.Value.any('h\u00e9 \u{1F600}')],
  ['object', () => AMF3.Value.any({ a: 1, b: 'x' })],
  ['nested', () => AMF3.Value.any({ a: { b: 'b' }, c: { b: 'b' } })],
  ['date', () => AMF3.Value.any(new Date(1000000000000))],
];
const out = cases.map(([n, f]) => n + '\t' + Buffer.from(f().serialize()).toString('hex')).join('\n');
fs.writeFileSync(path.join(__dirname, 'astronautlabs_amf3.txt'), out + '\n');
