"""Step texts render in a sandbox that reaches no attributes, files or process, and bounds size and work."""

from __future__ import annotations

import pytest

from service.campaigns.sandbox import MAX_OUTPUT_CHARS, MAX_TEMPLATE_CHARS, render_text
from service.campaigns.templates import render
from service.errors import TemplateError

VALUES = {"title": "Living Well", "hashtags": "#MPN", "description": "x" * 2000, "speaker": "Dr. Marquez"}

ESCAPES = {
    "class": "{{ title.__class__ }}",
    "mro": "{{ title.__class__.__mro__[1].__subclasses__() }}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner_globals": "{{ joiner.__init__.__globals__ }}",
    "namespace": "{% set ns = namespace(x=1) %}{{ ns.x }}",
    "lipsum": "{{ lipsum(n=100000) }}",
    "dict_global": "{{ dict(a=1) }}",
    "self_context": "{{ self._TemplateReference__context }}",
    "getitem_dunder": "{{ title['__class__'] }}",
    "attr_filter": "{{ title|attr('__class__') }}",
    "format_attribute": "{{ '{0.__class__}'.format(title) }}",
    "format_map": "{{ '{x.__class__}'.format_map({'x': title}) }}",
    "format_width": "{{ '{:>1000000000}'.format(1) }}",
    "percent_format": "{{ '%0999999999d' % 1 }}",
    "format_filter": "{{ '%s'|format(title) }}",
    "range_huge": "{{ range(10**9)|list }}",
    "range_literal": "{% for i in range(1000000000) %}{% endfor %}",
    "string_repeat": "{{ 'a' * 10**9 }}",
    "string_repeat_literal": "{{ 'a' * 1000000000 }}",
    "list_repeat": "{{ [1] * 1000000 }}",
    "power": "{{ 9 ** 9 ** 9 }}",
    "squaring": "{% set a = 99999999 %}{% set b = a*a %}{% set c = b*b %}{% set d = c*c %}{{ d*d }}",
    "ljust": "{{ title.ljust(1000000000) }}",
    "center_filter": "{{ title|center(1000000000) }}",
    "to_bytes": "{{ (1).to_bytes(1000000000, 'big') }}",
    "encode": "{{ title.encode('utf-8') }}",
    "replace_blowup": "{{ description|replace('x', description) }}",
    "replace_method": "{{ description.replace('x', description) }}",
    "join_blowup": "{{ description|list|join(description) }}",
    "concat_doubling": (
        "{% set a = description %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{% set e = d ~ d %}"
        "{% set f = e ~ e %}{{ f }}"
    ),
    "plus_doubling": "{% set a = description %}{% set b = a + a %}{% set c = b + b %}{% set d = c + c %}{{ d + d }}",
    "list_mutation": "{% set l = [1] %}{% for i in range(30) %}{{ l.extend(l) }}{% endfor %}",
    "dict_mutation": "{% set d = {} %}{{ d.update(a=1) }}",
    "recursion": "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
    "exponential_macro": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "nested_loops": (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    ),
    "loop_over_text": "{% for a in description %}{% for b in description %}{% endfor %}{% endfor %}",
    "output_flood": "{% for i in range(1000) %}{{ description }}{% endfor %}",
    "include": "{% include 'secrets.txt' %}",
    "import": "{% import 'os' as os %}",
    "extends": "{% extends 'base.html' %}",
    "recursive_loop": "{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}",
    "reserved_helper": "{{ _ep_loop }}",
    "deep_nesting": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "undefined": "{{ titel }}",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_escapes_and_resource_abuse_are_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source, VALUES, "webinar.toml:12: step one-week")


def test_refusals_say_where() -> None:
    with pytest.raises(TemplateError, match=r"^webinar.toml:12: step one-week: .*__class__"):
        render("{{ title.__class__ }}", VALUES, "webinar.toml:12: step one-week")


def test_template_length_is_capped() -> None:
    with pytest.raises(TemplateError, match="longer than"):
        render("x" * (MAX_TEMPLATE_CHARS + 1), VALUES)


def test_output_length_is_capped() -> None:
    with pytest.raises(TemplateError, match=str(MAX_OUTPUT_CHARS)):
        render("{{ description }}" * 6, VALUES)


def test_ordinary_templates_still_work() -> None:
    source = (
        "{{ title|upper }} {{ title ~ '!' }} {% for i in range(3) %}{{ i }}{% endfor %} "
        "{{ '{:>5}'.format(3) }} {{ [1, 2]|join(',') }} {% if speaker %}with {{ speaker }}{% endif %} "
        "{{ hashtags.split()|first }} {% for x in ['a', 'b'] %}{{ loop.index }}{{ loop.cycle('-', '+') }}{% endfor %} "
        "{{ title|truncate(8, True, '…', 0) }} {{ 2 * 3 + 1 }} {{ 7 // 2 }} {{ 7 % 3 }}"
    )
    out = render(source, VALUES)
    assert out == "LIVING WELL Living Well! 012     3 1,2 with Dr. Marquez #MPN 1-2+ Living … 7 3 1"


def test_compiled_templates_are_reused_and_do_not_leak_state() -> None:
    a = render_text("{% set x = title %}{{ x }}", {"title": "one"})
    b = render_text("{% set x = title %}{{ x }}", {"title": "two"})
    assert (a, b) == ("one", "two")


def test_tidy_keeps_paragraphs_and_drops_empty_lines_of_ifs() -> None:
    source = "Line one. {% if speaker %}x{% endif %}\n\n\n\nLine two\n{% if nope %}z{% endif %}\n#tags"
    assert render(source, {"speaker": "", "nope": False}) == "Line one.\n\nLine two\n\n#tags"
