"""The Jinja2 sandbox step texts render in: no attribute escapes, and bounded size, work and time.

Jinja's SandboxedEnvironment stops attribute escapes (`__class__`, `__globals__`) but not resource use.
On top of it this module
- keeps only harmless globals (`range`, capped) and a whitelist of filters, whose integer arguments
  are capped and whose results are size-checked before anything large is built;
- intercepts every binary operator: no `**`, no `%` on strings, no sequence repetition, no giant products;
- rewrites every `for` loop and every `~` concatenation into calls it can meter;
- counts every call, operator, loop iteration and filter against a per-render budget and a deadline;
- caps the template's length and the rendered output's length.
Compiled templates are cached by their text.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import LoopContext, Macro, new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import TemplateError

MAX_TEMPLATE_CHARS = 10_000
MAX_OUTPUT_CHARS = 10_000
# The largest string, list or number argument a template may build or pass.
MAX_VALUE = 10_000
MAX_RANGE = 1_000
# Work per render: calls + operators + loop iterations + filters. A real step text needs a few dozen.
MAX_OPERATIONS = 20_000
MAX_SECONDS = 0.5
MAX_INT_BITS = 64

_LOOP = "_ep_loop"
_CONCAT = "_ep_concat"

# String methods a template may call; the rest (ljust, center, zfill, expandtabs, encode, ...) can build
# huge values from small arguments, or hand out objects the sandbox was not written for.
_STR_METHODS = frozenset(
    {
        "upper", "lower", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
        "startswith", "endswith", "split", "rsplit", "splitlines", "replace", "join", "count", "find",
        "rfind", "partition", "rpartition", "removeprefix", "removesuffix", "format", "isdigit",
        "isalpha", "isalnum", "isspace", "isupper", "islower", "istitle",
    }
)  # fmt: skip
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_SEQ_METHODS = frozenset({"index", "count"})
_FORMAT_WIDTH_RE = re.compile(r"\{[^{}]*:[^{}]*\d{4,}[^{}]*\}")


class _Budget:
    """Operations left and the deadline of one render."""

    __slots__ = ("deadline", "left")

    def __init__(self) -> None:
        self.left = MAX_OPERATIONS
        self.deadline = time.perf_counter() + MAX_SECONDS

    def spend(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise SecurityError(f"the template does too much work (over {MAX_OPERATIONS} operations)")
        if self.left % 64 == 0 and time.perf_counter() > self.deadline:
            raise SecurityError(f"the template took longer than {MAX_SECONDS} s to render")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("eventpromo_template_budget", default=None)


def _spend(n: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:  # None: Jinja folding a constant expression at compile time
        budget.spend(n)


def _size(value: Any) -> int:
    if isinstance(value, (str, list, tuple, dict, set, frozenset, bytes)):
        return len(value)
    return 0


def _check_value(value: Any, what: str = "a value") -> Any:
    if _size(value) > MAX_VALUE:
        raise SecurityError(f"{what} longer than {MAX_VALUE} characters or items")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError("number too large")
    return value


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_VALUE:
            raise SecurityError(f"number argument {arg} is larger than {MAX_VALUE}")
        _check_value(arg, "an argument")


def _safe_range(*args: Any) -> range:
    _check_args(args)
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range of more than {MAX_RANGE} items")
    return r


def _loop(iterable: Any) -> Iterator[Any]:
    """Every `for` loop iterates through this: each item costs one operation."""
    if isinstance(iterable, (str, list, tuple, dict, range)) and _size(iterable) > MAX_VALUE:
        raise SecurityError(f"loop over more than {MAX_VALUE} items")
    for item in iterable:
        _spend()
        yield item


def _concat(*parts: Any) -> str:
    """`a ~ b ~ c`: the total size is checked before the string is built."""
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    if sum(len(t) for t in texts) > MAX_VALUE:
        raise SecurityError(f"concatenation longer than {MAX_VALUE} characters")
    return "".join(texts)


def _replace_size(s: str, old: str, new: str, count: int = -1) -> int:
    n = s.count(old) + (1 if old == "" else 0) if count < 0 else min(count, s.count(old) + (old == ""))
    return len(s) + n * (len(new) - len(old))


def _join_size(sep: str, items: list[Any]) -> int:
    return len(sep) * max(0, len(items) - 1) + sum(len(x) if isinstance(x, str) else 24 for x in items)


def _precheck_str_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Refuse a str method call whose result would be too large, before it is built."""
    name = getattr(obj, "__name__", "")
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
        if _replace_size(owner, args[0], args[1], count) > MAX_VALUE:
            raise SecurityError(f"replace() result longer than {MAX_VALUE} characters")
    elif name == "join" and args:
        items = list(args[0])
        if len(items) > MAX_VALUE or _join_size(owner, items) > MAX_VALUE:
            raise SecurityError(f"join() result longer than {MAX_VALUE} characters")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with metering; see the module docstring."""

    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
    intercepted_unops = frozenset(["-", "+"])

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, (int, float, bool, bytes, bytearray, complex)):
            return False
        if isinstance(obj, dict):
            return attr in _DICT_METHODS
        if isinstance(obj, tuple) and attr in getattr(type(obj), "_fields", ()):
            return True  # a named tuple's fields (groupby's grouper and list)
        if isinstance(obj, (list, tuple, range)):
            return attr in _SEQ_METHODS or (isinstance(obj, range) and attr in ("start", "stop", "step"))
        if not isinstance(obj, (LoopContext, Macro)):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        if __obj is _concat:
            return _concat(*args)
        if __obj is _loop:
            return _loop(*args)
        _check_args(args)
        _check_args(kwargs.values())
        _precheck_str_call(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_value(result, "a call's result")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "**":
            raise SecurityError("the power operator is not allowed in templates")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting is not allowed in templates; use ~ or format()")
        if operator == "*":
            if not all(isinstance(x, (int, float)) for x in (left, right)):
                raise SecurityError("repeating strings or lists with * is not allowed in templates")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 96:
                raise SecurityError("number too large")
        if operator == "+" and _size(left) + _size(right) > MAX_VALUE:
            raise SecurityError(f"sum longer than {MAX_VALUE} characters or items")
        return _check_value(super().call_binop(context, operator, left, right))

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        _spend()
        return super().call_unop(context, operator, arg)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is not None and _FORMAT_WIDTH_RE.search(value.__self__):

            def refuse(*_args: Any, **_kwargs: Any) -> str:
                raise SecurityError("format widths of 1000 or more are not allowed")

            return refuse
        return wrapper

    def getattr(self, obj: Any, attribute: str) -> Any:
        _spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        return super().getitem(obj, argument)


def _precheck_filter(name: str, value: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a replace or join whose result would be too large, before it is built."""
    if name == "replace" and isinstance(value, str) and len(rest) >= 2:
        old, new = str(rest[0]), str(rest[1])
        count = rest[2] if len(rest) > 2 else kwargs.get("count")
        if _replace_size(value, old, new, count if isinstance(count, int) else -1) > MAX_VALUE:
            raise SecurityError(f"replace result longer than {MAX_VALUE} characters")
    elif name == "join":
        items = [str(x) for x in value] if not isinstance(value, str) else list(value)
        sep = str(rest[0]) if rest else str(kwargs.get("d", ""))
        if len(items) > MAX_VALUE or _join_size(sep, items) > MAX_VALUE:
            raise SecurityError(f"join result longer than {MAX_VALUE} characters")


def _metered_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that costs one operation, takes capped arguments, and refuses oversized results."""
    pass_arg = getattr(fn, "jinja_pass_arg", None)
    lead = 0 if pass_arg is None else 1  # a context/eval-context/environment comes first

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _spend()
        value, rest = args[lead], args[lead + 1 :]
        _check_args(rest)
        _check_args(kwargs.values())
        if isinstance(value, Iterator):
            value = _check_value(list(value), f"the {name} filter's input")
            args = (*args[:lead], value, *rest)
        _precheck_filter(name, value, rest, kwargs)
        result = fn(*args, **kwargs)
        if isinstance(result, Iterator):
            result = list(result)
        return _check_value(result, f"the {name} filter's result")

    if pass_arg is not None:
        wrapped.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return wrapped


_FILTERS = (
    "abs", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float", "groupby",
    "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
    "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice", "sort", "string",
    "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)  # fmt: skip


def _make_env() -> _Sandbox:
    # Post text is not HTML: no autoescape here; the web page escapes it when it shows it.
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals.clear()
    env.globals.update({"range": _safe_range, _LOOP: _loop, _CONCAT: _concat})
    filters = {name: _metered_filter(name, env.filters[name]) for name in _FILTERS}
    env.filters.clear()
    env.filters.update(filters)
    # Tests are harmless predicates; keep Jinja's.
    return env


ENV = _make_env()
# Names a template can use that are not variables.
GLOBAL_NAMES = frozenset({"range", "loop", "caller", "varargs", "kwargs"})
_FORBIDDEN_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Extends, "{% extends %}"),
    (nodes.Include, "{% include %}"),
    (nodes.Import, "{% import %}"),
    (nodes.FromImport, "{% from ... import %}"),
    (nodes.Block, "{% block %}"),
)


class CompileError(Exception):
    """A step text that does not compile; `lineno` is relative to the text's first line."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.message = message
        self.lineno = lineno


def parse(text: str) -> nodes.Template:
    """Parse a step text into Jinja's tree, refusing what templates may not do."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise CompileError(f"text longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        tree = ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise CompileError(exc.message or "syntax error", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise CompileError("the text is nested too deeply") from None
    for node_type, label in _FORBIDDEN_NODES:
        found = tree.find(node_type)
        if found is not None:
            raise CompileError(f"{label} is not allowed in a step text", found.lineno)
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise CompileError("recursive loops are not allowed in a step text", loop.lineno)
    for name in tree.find_all(nodes.Name):
        if name.name.startswith("_ep_"):
            raise CompileError(f"{name.name!r} is reserved", name.lineno)
    return tree


def _meter(tree: nodes.Template) -> nodes.Template:
    """Route every loop and `~` through the metered helpers."""
    for loop in list(tree.find_all(nodes.For)):
        loop.iter = nodes.Call(nodes.Name(_LOOP, "load"), [loop.iter], [], None, None, lineno=loop.lineno)
    for concat in list(tree.find_all(nodes.Concat)):
        call = nodes.Call(nodes.Name(_CONCAT, "load"), list(concat.nodes), [], None, None, lineno=concat.lineno)
        _replace_node(tree, concat, call)
    return tree


def _replace_node(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    for parent in tree.find_all(nodes.Node):
        for field in parent.fields:
            value = getattr(parent, field, None)
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    if isinstance(tree, nodes.Template):
        for i, item in enumerate(tree.body):
            if item is old:
                tree.body[i] = new
                return


def compiled(text: str) -> Any:
    """The compiled, metered template of a step text (cached by text)."""
    return _compiled(text)[0]


@lru_cache(maxsize=2048)
def _compiled(text: str) -> tuple[Any, dict[str, Any]]:
    tree = _meter(parse(text))
    tree.set_environment(ENV)
    try:
        template = ENV.from_string(tree)
        return template, dict(template.globals)
    except TemplateSyntaxError as exc:
        raise CompileError(exc.message or "syntax error", exc.lineno) from None
    except (RecursionError, MemoryError, SyntaxError):
        raise CompileError("the text is too complex to compile") from None


def render_text(text: str, values: Mapping[str, Any], where: str = "") -> str:
    """Render a step text within the budget; every failure becomes a TemplateError naming `where`."""
    prefix = f"{where}: " if where else ""
    try:
        template, globals_ = _compiled(text)
    except CompileError as exc:
        line = f"line {exc.lineno}: " if exc.lineno else ""
        raise TemplateError(f"{prefix}{line}{exc.message}", line=exc.lineno) from None
    token = _BUDGET.set(_Budget())
    try:
        out: list[str] = []
        total = 0
        # One merged dict as the context's parent (shared=True): Jinja would otherwise copy it twice.
        # jinja2.runtime.new_context without the template's globals ChainMap (a set of its keys per render).
        context = new_context(ENV, template.name, template.blocks, {**globals_, **values}, True, None, None)
        for chunk in template.root_render_func(context):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS:
                raise SecurityError(f"rendered text longer than {MAX_OUTPUT_CHARS} characters")
            out.append(chunk)
        return "".join(out)
    except UndefinedError as exc:
        raise TemplateError(f"{prefix}{exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"{prefix}not allowed in a template: {exc}") from None
    except RecursionError:
        raise TemplateError(f"{prefix}not allowed in a template: recursion too deep") from None
    except (JinjaTemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise TemplateError(f"{prefix}{type(exc).__name__}: {exc}") from None
    finally:
        _BUDGET.reset(token)
