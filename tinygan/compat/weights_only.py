"""Unpickling a stranger's file without running its code: a small pickle machine of our own.

A pickle is a program for a tiny stack machine: each opcode pushes a value (an int, a
string, an empty list), combines values on the stack (make a tuple, append to a list, set a
dict item) or, the dangerous ones, names a Python global (``GLOBAL module name``), calls it
(``REDUCE``: ``f(*args)``), creates an instance of it (``NEWOBJ``: ``cls.__new__(cls, *args)``)
or sets an object's state (``BUILD``: ``obj.__setstate__(state)`` or
``obj.__dict__.update(state)``). Python's own unpickler executes all of them for any global,
so ``pickle.load`` on a stranger's file can call ``os.system``.

This machine understands only the opcodes PyTorch's weights-only loader understands (those
of pickle protocol 2 that a ``torch.save`` file uses) and refuses every other one. Its rules:

* ``GLOBAL`` resolves only names on the allow-list it is given;
* ``REDUCE`` calls and ``NEWOBJ`` instantiates only values taken from that allow-list;
* ``BUILD`` sets state only on an ``OrderedDict`` or ``Counter`` *instance* (a state_dict
  carries its ``_metadata`` that way), and only plain attributes: never on a class, a
  function, a module or a shared allow-listed object, which would change the loader itself
  for the rest of the process;
* ``APPEND(S)`` only on a list, ``SETITEM(S)`` only on a dict, OrderedDict or Counter;
* ``BINPERSID`` (a persistent id: a tensor's storage in a .pt file) goes to the caller.

Every refusal, and every malformed stream (an opcode cut short, a pop from an empty stack, a
memo entry never stored), is one ``pickle.UnpicklingError`` line naming the file.
"""
from __future__ import annotations

import collections
import pickle
import struct
from typing import Any, Callable

# pickle protocol 2's opcodes that this machine runs (each is one byte)
_OPCODES = {
    b"c": "GLOBAL", b"\x81": "NEWOBJ", b"R": "REDUCE", b"b": "BUILD", b"a": "APPEND",
    b"e": "APPENDS", b"s": "SETITEM", b"u": "SETITEMS", b"(": "MARK", b"t": "TUPLE",
    b"\x85": "TUPLE1", b"\x86": "TUPLE2", b"\x87": "TUPLE3", b"N": "NONE",
    b"\x89": "NEWFALSE", b"\x88": "NEWTRUE", b")": "EMPTY_TUPLE", b"]": "EMPTY_LIST",
    b"}": "EMPTY_DICT", b"\x8f": "EMPTY_SET", b"J": "BININT", b"K": "BININT1",
    b"M": "BININT2", b"G": "BINFLOAT", b"X": "BINUNICODE", b"U": "SHORT_BINSTRING",
    b"Q": "BINPERSID", b"h": "BINGET", b"j": "LONG_BINGET", b"q": "BINPUT",
    b"r": "LONG_BINPUT", b"\x8a": "LONG1", b"\x80": "PROTO", b".": "STOP",
}
_DICT_TYPES = (dict, collections.OrderedDict, collections.Counter)
# Hashing a tuple hashes its items, recursively and with no depth check in CPython: a key
# of 100,000 nested tuples crashes the process, and tuples sharing items through the memo
# ((t, t), then ((t, t), (t, t)), ...) make the work double with each level. So every tuple
# is weighed (tuples reachable through tuples, counted with repetition) before it is used.
MAX_TUPLE_DEPTH = 200
MAX_TUPLE_WEIGHT = 1_000_000
_BUILD_TYPES = (collections.OrderedDict, collections.Counter)


class _Malformed(Exception):
    """The stream is not a well-formed pickle (raised inside, reported as one line)."""


class WeightsOnlyUnpickler:
    """``WeightsOnlyUnpickler(data, source, allowed, persistent_load).load()``: the object
    the pickle ``data`` describes.

    ``allowed``: {"module.name": value} for GLOBAL; ``persistent_load(pid)``: the object a
    persistent id stands for; ``source``: the file's name, for messages.
    """

    def __init__(self, data: bytes, source: str, allowed: dict[str, Any],
                 persistent_load: Callable[[Any], Any],
                 resolve_name: Callable[[str, str], str] | None = None) -> None:
        self.data, self.pos = memoryview(data), 0
        self.source, self.allowed = source, allowed
        self.allowed_ids = {id(v) for v in allowed.values()}
        self.persistent_load = persistent_load
        self.resolve_name = resolve_name or (lambda module, name: f"{module}.{name}")
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []   # the stacks set aside by MARK
        self.memo: dict[int, Any] = {}
        self.weights: dict[int, tuple[int, int, tuple]] = {}   # id -> (weight, depth, tuple)

    # ---- reading the stream ------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Malformed(f"the stream ends inside an opcode (needs {n} bytes at byte "
                             f"{self.pos}, {len(self.data) - self.pos} left)")
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return chunk

    def _line(self) -> str:
        end = bytes(self.data[self.pos:self.pos + 1024]).find(b"\n")
        if end < 0:
            raise _Malformed("a GLOBAL name has no end of line within 1024 bytes")
        raw = self._read(end + 1)[:-1]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Malformed("a GLOBAL name is not UTF-8") from None

    def _fail(self, message: str) -> pickle.UnpicklingError:
        return pickle.UnpicklingError(f"tinygan.load: {self.source}: {message}")

    # ---- the machine -------------------------------------------------------------------
    def load(self) -> Any:
        while True:
            start = self.pos
            if self.pos >= len(self.data):
                raise self._fail("the pickle ends without a STOP opcode (truncated)")
            code = self._read(1)
            name = _OPCODES.get(code)
            if name is None:
                raise self._fail(f"opcode {code!r} at byte {start} is not one PyTorch's "
                                 f"weights-only loader accepts; refusing the file")
            try:
                if name == "STOP":
                    return self._pop()
                getattr(self, f"_op_{name}")()
            except pickle.UnpicklingError:
                raise
            except _Malformed as err:
                raise self._fail(f"malformed pickle at byte {start} ({name}): {err}") from None
            except (IndexError, KeyError, struct.error) as err:
                what = {IndexError: "the stack is empty", KeyError: f"memo entry {err} was "
                        f"never stored"}.get(type(err), str(err))
                raise self._fail(f"malformed pickle at byte {start} ({name}): {what}"
                                 ) from None

    def _pop(self) -> Any:
        return self.stack.pop()

    def _pop_mark(self) -> list[Any]:
        items, self.stack = self.stack, self.marks.pop()
        return items

    def _is_allowed(self, value: Any) -> bool:
        return id(value) in self.allowed_ids

    def _weigh(self, root: tuple) -> tuple[int, int]:
        """(weight, depth) of a tuple: the tuples reachable through tuples, counted with
        repetition, and how deeply they nest; refused past the limits. Iterative, and
        remembered per tuple (kept alive, so its id stays its own)."""
        todo = [root]
        while todo:
            t = todo[-1]
            if id(t) in self.weights:
                todo.pop()
                continue
            children = {id(c): c for c in t if type(c) is tuple and id(c) not in self.weights}
            if children:
                todo.extend(children.values())
                continue
            todo.pop()
            known = [self.weights[id(c)] for c in t if type(c) is tuple]
            weight = 1 + sum(w for w, _, _ in known)
            depth = 1 + max((d for _, d, _ in known), default=0)
            if depth > MAX_TUPLE_DEPTH or weight > MAX_TUPLE_WEIGHT:
                raise self._fail(f"tuples nested {depth} deep, {weight} in all (limits "
                                 f"{MAX_TUPLE_DEPTH} and {MAX_TUPLE_WEIGHT:,}): hashing them "
                                 f"would crash or hang; refusing")
            self.weights[id(t)] = (weight, depth, t)
        return self.weights[id(root)][:2]

    def _hashable_safely(self, values: Any) -> None:
        """Weigh every tuple that a call or an item assignment may hash: the values
        themselves and, one level down, the items of lists and tuples among them."""
        for value in values:
            if type(value) is tuple:
                self._weigh(value)
            if type(value) in (list, tuple):
                for item in value:
                    if type(item) is tuple:
                        self._weigh(item)

    def _push_tuple(self, items: Any) -> None:
        t = tuple(items)
        self._weigh(t)
        self.stack.append(t)

    def _call(self, what: str, func: Callable, *args: Any) -> Any:
        """Run an allow-listed constructor; its failure is one line naming it."""
        self._hashable_safely(args)
        try:
            return func(*args)
        except pickle.UnpicklingError as err:   # an allow-listed global's own refusal
            if str(err).startswith("tinygan.load:"):
                raise
            raise self._fail(str(err)) from None
        except (RuntimeError, MemoryError):
            raise
        except Exception as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise self._fail(f"{what} failed on the file's arguments ({reason})") from None

    # the dangerous four: names, calls, new objects, state
    def _op_GLOBAL(self) -> None:
        module, name = self._line(), self._line()
        full = self.resolve_name(module, name)
        if full not in self.allowed:
            raise self._fail(f"refusing the global {full}, which is not one of the globals "
                             f"PyTorch's weights-only loader allows (tinygan never runs code "
                             f"from a file)")
        self.stack.append(self.allowed[full])

    def _op_REDUCE(self) -> None:
        args, func = self._pop(), self.stack[-1]
        if not self._is_allowed(func) or not callable(func) or not isinstance(args, tuple):
            raise self._fail(f"REDUCE may call only an allow-listed global with a tuple of "
                             f"arguments, got {_kind(func)}")
        self.stack[-1] = self._call(_kind(func), func, *args)

    def _op_NEWOBJ(self) -> None:
        args, cls = self._pop(), self._pop()
        if not self._is_allowed(cls) or not isinstance(cls, type) or not isinstance(args,
                                                                                   tuple):
            raise self._fail(f"NEWOBJ may create only an allow-listed class, got {_kind(cls)}")
        if getattr(cls, "_unpickle_with_init", False):   # Parameter: its constructor
            self.stack.append(self._call(_kind(cls), cls, *args))
        else:
            self.stack.append(self._call(_kind(cls), cls.__new__, cls, *args))

    def _op_BUILD(self) -> None:
        state, target = self._pop(), self.stack[-1]
        if type(target) not in _BUILD_TYPES:
            raise self._fail(f"BUILD (setting an object's state) on {_kind(target)} is not "
                             f"allowed: PyTorch's weights-only loader allows it on an "
                             f"OrderedDict (a state_dict's _metadata), never on a class, a "
                             f"function or a shared object")
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and not k.startswith("__") for k in state):
            raise self._fail(f"BUILD on {_kind(target)} may set only plain named attributes "
                             f"(a dict of names), got {_kind(state)}")
        target.__dict__.update(state)

    # containers
    def _op_APPEND(self) -> None:
        item = self._pop()
        self._list_target("APPEND").append(item)

    def _op_APPENDS(self) -> None:
        items = self._pop_mark()
        self._list_target("APPENDS").extend(items)

    def _list_target(self, op: str) -> list:
        if type(self.stack[-1]) is not list:
            raise self._fail(f"{op} on {_kind(self.stack[-1])}: only lists can be appended to")
        return self.stack[-1]

    def _op_SETITEM(self) -> None:
        value, key = self._pop(), self._pop()
        self._set_items("SETITEM", [key, value])

    def _op_SETITEMS(self) -> None:
        self._set_items("SETITEMS", self._pop_mark())

    def _set_items(self, op: str, items: list[Any]) -> None:
        target = self.stack[-1]
        if type(target) not in _DICT_TYPES:
            raise self._fail(f"{op} on {_kind(target)}: only a dict, OrderedDict or Counter "
                             f"can have items set")
        if len(items) % 2:
            raise _Malformed(f"{op} has a key without a value")
        self._hashable_safely(items[::2])
        for key, value in zip(items[::2], items[1::2]):
            try:
                target[key] = value
            except TypeError:
                raise self._fail(f"{op}: a key of type {type(key).__name__} is not "
                                 f"hashable") from None

    def _op_MARK(self) -> None:
        self.marks.append(self.stack)
        self.stack = []

    def _op_TUPLE(self) -> None:
        self._push_tuple(self._pop_mark())

    def _op_TUPLE1(self) -> None:
        self._push_tuple([self._pop()])

    def _op_TUPLE2(self) -> None:
        b, a = self._pop(), self._pop()
        self._push_tuple([a, b])

    def _op_TUPLE3(self) -> None:
        c, b, a = self._pop(), self._pop(), self._pop()
        self._push_tuple([a, b, c])

    # plain values
    def _op_NONE(self) -> None:
        self.stack.append(None)

    def _op_NEWFALSE(self) -> None:
        self.stack.append(False)

    def _op_NEWTRUE(self) -> None:
        self.stack.append(True)

    def _op_EMPTY_TUPLE(self) -> None:
        self.stack.append(())

    def _op_EMPTY_LIST(self) -> None:
        self.stack.append([])

    def _op_EMPTY_DICT(self) -> None:
        self.stack.append({})

    def _op_EMPTY_SET(self) -> None:
        self.stack.append(set())

    def _op_BININT(self) -> None:
        self.stack.append(struct.unpack("<i", self._read(4))[0])

    def _op_BININT1(self) -> None:
        self.stack.append(self._read(1)[0])

    def _op_BININT2(self) -> None:
        self.stack.append(struct.unpack("<H", self._read(2))[0])

    def _op_LONG1(self) -> None:
        n = self._read(1)[0]
        self.stack.append(int.from_bytes(self._read(n), "little", signed=True))

    def _op_BINFLOAT(self) -> None:
        self.stack.append(struct.unpack(">d", self._read(8))[0])

    def _op_BINUNICODE(self) -> None:
        n = struct.unpack("<I", self._read(4))[0]
        self.stack.append(_decode(self._read(n), "surrogatepass"))

    def _op_SHORT_BINSTRING(self) -> None:   # a Python 2 str: text, as torch.load reads it
        self.stack.append(_decode(self._read(self._read(1)[0]), "strict"))

    # the memo: values stored by index, fetched again for shared objects
    def _op_BINPUT(self) -> None:
        self.memo[self._read(1)[0]] = self.stack[-1]

    def _op_LONG_BINPUT(self) -> None:
        self.memo[struct.unpack("<I", self._read(4))[0]] = self.stack[-1]

    def _op_BINGET(self) -> None:
        self.stack.append(self.memo[self._read(1)[0]])

    def _op_LONG_BINGET(self) -> None:
        self.stack.append(self.memo[struct.unpack("<I", self._read(4))[0]])

    def _op_BINPERSID(self) -> None:
        self.stack.append(self.persistent_load(self._pop()))

    def _op_PROTO(self) -> None:
        self._read(1)


def _decode(raw: bytes, errors: str) -> str:
    try:
        return raw.decode("utf-8", errors)
    except UnicodeDecodeError:
        raise _Malformed("a string is not valid UTF-8") from None


def _kind(value: Any) -> str:
    """A short, safe description of a value for a message (never its repr: that could be
    huge, or run code of an object that should not exist)."""
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"the function {getattr(value, '__module__', '?')}.{value.__qualname__}"
    return f"a {type(value).__module__}.{type(value).__qualname__}".replace("builtins.", "")
