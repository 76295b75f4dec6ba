# Generates librtmp_amf0.txt: AMF0 encodings produced by Debian's python3-librtmp (librtmp's own
# AMF encoder, not ours). Run with: /usr/bin/python3 core/amf/testdata/gen_librtmp.py
# Each line: name <TAB> hex.
import librtmp.amf as amf
from collections import OrderedDict

cases = [
    ("number", 3.5),
    ("negative", -1.0),
    ("negative zero", -0.0),
    ("string", "hello"),
    ("utf8", u"h\u00e9llo \u263a"),
    ("emoji", u"\U0001F600 ok"),
    ("true", True),
    ("false", False),
    ("null", None),
    ("object", amf.AMFObject(OrderedDict([("app", "live"), ("n", 1.0), ("ok", True)]))),
    ("ecma", OrderedDict([("a", 1.0), ("b", "x")])),
    ("strict", [1.0, "two", None]),
    ("nested", amf.AMFObject(OrderedDict([("o", amf.AMFObject(OrderedDict([("k", "v")]))), ("l", [1.0])]))),
]
with open(__file__.replace("gen_librtmp.py", "librtmp_amf0.txt"), "w") as f:
    for name, v in cases:
        f.write("%s\t%s\n" % (name, amf.encode_amf(v).hex()))
