"""Reads a nextflow.config as Nextflow does, for the part of its language the service writes: scopes
(`k8s { ... }`), dotted assignments (`process.cpus = 2`), strings, numbers, booleans, null, Groovy lists and maps
(`[runAsUser: 10001, seccompProfile: [type: 'RuntimeDefault']]`, `[[automountServiceAccountToken: false]]`),
`params.x` references, and comments. Anything else is refused with a ConfigError, as Nextflow refuses a config it
cannot parse ("Unable to parse config file"), so a mistake in what the service writes fails a test."""
import re


class ConfigError(Exception):
    pass


TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\$]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[{}\[\]=:,])
""", re.S | re.X)


def tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ConfigError(f"unexpected text at {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            if "\n" in m.group():
                out.append(("nl", "\n"))
            continue
        out.append((kind, m.group()))
    out.append(("eof", ""))
    return out


def _unquote(s):
    return re.sub(r"\\(.)", r"\1", s[1:-1])


class _Parser:
    def __init__(self, text):
        self.toks, self.i = tokens(text), 0
        self.root = {}

    def peek(self, skip_nl=True):
        while skip_nl and self.toks[self.i][0] == "nl":
            self.i += 1
        return self.toks[self.i]

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            raise ConfigError(f"expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok

    def body(self, scope, until):
        while self.peek()[1] != until and self.peek()[0] != "eof":
            name = self.take("name")[1]
            if self.peek()[1] == "{":
                self.take(value="{")
                self.body(_scope(scope, name.split(".")), "}")
                self.take(value="}")
            else:
                self.take(value="=")
                *path, last = name.split(".")
                _scope(scope, path)[last] = self.value()
                if self.peek(skip_nl=False)[0] not in ("nl", "eof") and self.peek()[1] != "}":
                    raise ConfigError(f"one setting per line: {self.peek()[1]!r} after {name}")

    def value(self):
        kind, text = self.take()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "name":
            if text in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[text]
            if text.startswith("params."):
                v = self.root.get("params", {})
                for part in text.split(".")[1:]:
                    v = v.get(part) if isinstance(v, dict) else None
                return v
            raise ConfigError(f"unknown name {text}")
        if text == "[":
            return self.collection()
        raise ConfigError(f"unexpected {text!r}")

    def collection(self):
        if self.peek()[1] == ":":  # [:] is an empty map
            self.take(value=":")
            self.take(value="]")
            return {}
        items, entries = [], {}
        while self.peek()[1] != "]":
            if self.peek()[0] in ("name", "str") and self.toks[self.i + 1][1] == ":":
                kind, key = self.take()
                self.take(value=":")
                entries[_unquote(key) if kind == "str" else key] = self.value()
            else:
                items.append(self.value())
            if self.peek()[1] != "]":
                self.take(value=",")
        self.take(value="]")
        if items and entries:
            raise ConfigError("a list mixed with map entries")
        return entries if entries else items


def _scope(root, path):
    for part in path:
        root = root.setdefault(part, {})
        if not isinstance(root, dict):
            raise ConfigError(f"{part} is a value, not a scope")
    return root


def parse(text):
    """The config as nested dicts: {"params": {...}, "process": {...}, "k8s": {...}, "workDir": "..."}."""
    p = _Parser(text)
    p.body(p.root, "")
    p.take("eof")
    return p.root


def merge(base, over):
    """Nextflow's layering of config files (-c over the project's): scopes merge, values replace."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
