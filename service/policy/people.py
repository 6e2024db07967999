"""People in a clinical context: named patients, memorials, quoted testimonials, and patient stories.

A name alone is fine (a speaker, a nurse navigator); a name tied to someone's health is what HIPAA
protects. Without a named-entity model, a name here is a run of capitalised words (or an @handle)
that are not common words (words.NOT_NAMES), found right where a sentence ties it to a patient:

- "our patient Maria", "survivor John Smith"                          (patient noun before a name)
- "Maria Lopez, a breast cancer survivor", "John, 54, a patient"      (descriptor after a name)
- "Maria was diagnosed ...", "John rang the bell", "Ann passed away"  (clinical predicate after a name)
- "Maria's diagnosis", "John's cancer journey"                        (possessive care noun)
- "Mrs. Jones" in a sentence about cancer, treatment, a hospital      (honorific + clinical words)
- "In memory of John Smith", "RIP Maria", "John Smith (1950-2024)"    (memorials of a named person)
- a quoted health testimonial attributed to a name
Held. A first-person health statement without a name, or a story about an unnamed patient, warns.
"""

from __future__ import annotations

import re

from .rules import Allow
from .scan import HOLD, WARN, Scan
from .words import (
    CLINICAL_PREDICATES,
    CLINICAL_WORDS,
    HEALTH_WORDS,
    NOT_NAMES,
    NOT_PERSONAL_AFTER,
    PATIENT_NOUNS,
    PATIENT_ROLES,
    PERSONAL_CARE_NOUNS,
)

_HONORIFIC = r"(?:Dr|Mr|Mrs|Ms|Mx|Miss|Prof|Doctor|Professor)\.?"
_CLINICIAN = re.compile(r"^(?:Dr|Prof|Doctor|Professor)\b")
_CAP = r"(?:[A-Z]'|Ma?c)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_TOKEN = rf"(?:{_CAP}|[A-Z]\.)"
_NAME = rf"(?:{_HONORIFIC}\s+)?{_CAP}(?:\s+{_TOKEN}){{0,3}}|@[A-Za-z0-9_]{{1,15}}"
_NAME_AT_END = re.compile(rf"(?<![\w'@.-])(?:{_NAME})$")
_NAME_AT_START = re.compile(rf"^(?:{_NAME})(?!\w)")

_PATIENT_BEFORE = re.compile(
    rf"\b(?P<det>(?i:our|my|a|the|former|young|brave|fellow|dear|nuestr[oa]|mi)\s+)?(?P<noun>(?i:{PATIENT_NOUNS}))"
    rf"(?!\s+(?i:{PATIENT_ROLES})\b)(?P<sep>\s*[,:(-]?)\s*(?=[A-Z@])"
)
# "Survivor Spotlight: Maria Lopez", "Patient Story - John".
_SPOTLIGHT = re.compile(
    rf"\b(?i:{PATIENT_NOUNS}|caregivers?)\s+(?i:spotlight|story|stories|profile|of\s+the\s+(?:week|month|year))\s*[:-]\s*"
)
_DESCRIPTOR_AFTER = re.compile(
    rf"\s*,\s*(?:\d{{1,3}}\s*,\s*)?(?:(?:a|an|our|one\s+of\s+our|the|who\s+is\s+(?:a|an|our)|who\s+was\s+(?:a|an|our))\s+)?"
    rf"(?:[\w-]+\s+){{0,3}}?(?:patient|survivor|fighter|warrior|thriver)s?\b(?!\s+{PATIENT_ROLES}\b)",
    re.I,
)
_PREDICATE = re.compile(rf"(?:\s*,\s*\d{{1,3}}\s*,|\s*,)?\s+{CLINICAL_PREDICATES}", re.I | re.X)
_PASSIVE = re.compile(r"^(?:\s*,[^,]*,|\s*,)?\s+(?:(?:who|that)\s+)?(?:was|is|has|had|got|were|are)\b", re.I)
_POSSESSIVE = re.compile(
    rf"(?<![\w'@.-])(?P<name>{_NAME})'s?\s+(?P<noun>(?i:{PERSONAL_CARE_NOUNS}))\b(?!\s+(?i:{NOT_PERSONAL_AFTER}))", re.X
)
_STRONGLY_PERSONAL = re.compile(
    r"(?:diagnosis|cancer|leukemia|lymphoma|myeloma|melanoma|illness|condition|disease|journey|battle|fight|story|"
    r"recovery|remission|relapse|passing|death|obituary|funeral|prognosis|tumou?r)$",
    re.I,
)
_HONORIFIC_NAME = re.compile(rf"\b(?:Mr|Mrs|Ms|Mx|Miss)\.?\s+{_CAP}(?:\s+{_CAP})?")
_CLINICAL = re.compile(rf"\b{CLINICAL_WORDS}\b", re.I | re.X)
_MEMORIAL = re.compile(
    r"\b(?:(?i:in\s+(?:loving\s+)?memory\s+of|in\s+memoriam|remembering|honou?ring\s+the\s+(?:life|memory)\s+of|"
    r"celebrating\s+the\s+life\s+of|rest\s+in\s+peace|we\s+mourn|mourning\s+the\s+(?:loss|passing)\s+of|"
    r"the\s+passing\s+of|the\s+loss\s+of|obituary\s+(?:of|for)|funeral\s+(?:of|for)|farewell\s+to)|RIP)\b[\s,:]*"
    r"(?:(?i:our|my|your|dear|beloved|friend|colleague|volunteer|member|founder|patient|longtime|the\s+late|sweet|"
    r"wonderful|brave)[\s,]+)*"
)
_LIFE_DATES = re.compile(rf"(?<![\w'@.-])(?:{_NAME})\s*\(\s*(?:b\.\s*)?(?:19|20|18)\d\d\s*(?:-|to)\s*(?:19|20)\d\d\s*\)")
_NAME_AGE = re.compile(rf"(?<![\w'@.-])(?:{_NAME}),\s*(\d{{1,3}})\s*,")
_QUOTE = re.compile(r'"([^"\n]{8,400})"')
_SAYS = r"(?:says|said|shares|shared|writes|wrote|explains|explained|recalls|recalled|remembers|told\s+us)"
_ATTRIBUTION_AFTER = re.compile(rf"\s*(?:[-~,]\s*|\s)(?:{_SAYS}\s+)?")
_ATTRIBUTION_BEFORE = re.compile(rf"(?<![\w'@.-])(?:{_NAME})\s+{_SAYS}\s*:?\s*$")
_DASH_SIGNATURE = re.compile(rf"(?:^|\s)[-~]\s*(?P<name>{_NAME})\s*(?:,[^\n]{{0,40}})?[ \t]*$", re.M)
_FIRST_PERSON = re.compile(
    r"(?<!\bstage )(?<!\bphase )(?<!\bpart )(?<!\btype )(?<!\bgrade )(?<!\bclass )(?<!\blevel )(?<!\btier )"
    r"(?<!\bchapter )(?<!\bwar )(?<!\btitle )(?<!\bact )(?<![.\w])I\b(?![.-]\w)|\b(?:I'm|I've|I'd|I'll|my|mine|myself)\b|"
    r"\b(?:helped|saved|cured|treated|diagnosed|told)\s+me\b",
    re.I,
)
_HEALTH = re.compile(rf"\b{HEALTH_WORDS}\b", re.I | re.X)
_STORY = re.compile(
    rf"""\b(?:one\s+of\s+our\s+patients|a\s+(?:former\s+|current\s+|young\s+)?patient(?:'s)?\s+(?:story|journey)|
    patient\s+stor(?:y|ies)|(?:she|he)\s+(?:was|is|has\s+been|had\s+been)\s+(?:diagnosed|treated|admitted|discharged)|
    (?:her|his)\s+(?:diagnosis|chemo\w*|surgery|mastectomy|transplant|relapse|prognosis|last\s+chemo|scans?|
      (?:(?:breast|lung|colon|skin|blood|brain|prostate|ovarian|pancreatic)\s+)?cancer(?:\s+journey)?|tumou?r)
      (?!\s+{NOT_PERSONAL_AFTER})|
    \d{{1,2}}[- ]year[- ]old\s+(?:patient|woman|man|mother|father|girl|boy|mom|dad|wife|husband|grand\w+|son|daughter))\b""",
    re.I | re.X,
)


def _clean(raw: str, from_right: bool) -> tuple[str, bool]:
    """The name in a run of capitalised words, and whether it carries a clinician's title.

    The walk starts at the side next to the cue and stops at the first common word, so
    "Yesterday Maria Lopez" (before "was diagnosed") gives "Maria Lopez".
    """
    if raw.startswith("@"):
        return raw, False
    tokens = raw.split()
    clinician = bool(tokens) and _CLINICIAN.match(tokens[0]) is not None
    while tokens and re.fullmatch(_HONORIFIC, tokens[0]):
        tokens.pop(0)
    kept: list[str] = []
    for tok in reversed(tokens) if from_right else tokens:
        if tok.rstrip(".").lower() in NOT_NAMES:
            break
        kept.append(tok)
    if from_right:
        kept.reverse()
    if not any(len(t.rstrip(".")) > 1 for t in kept):
        return "", clinician
    return " ".join(kept), clinician


def name_before(text: str, end: int) -> tuple[str, bool, int]:
    """The name that ends at `end`, whether it is a clinician's, and where it starts ("" if none)."""
    window = text[max(0, end - 80) : end]
    m = _NAME_AT_END.search(window)
    if not m:
        return "", False, end
    name, clinician = _clean(m.group(0), from_right=True)
    start = end - len(window) + window.rfind(name) if name else end
    return name, clinician, start


def name_after(text: str, start: int) -> tuple[str, bool, int]:
    """The name that starts at `start`, whether it is a clinician's, and where it ends ("" if none)."""
    m = _NAME_AT_START.match(text[start : start + 80])
    if not m:
        return "", False, start
    name, clinician = _clean(m.group(0), from_right=False)
    if not name:
        return "", clinician, start
    return name, clinician, start + m.group(0).find(name) + len(name)


def _hold_name(scan: Scan, start: int, end: int, what: str) -> None:
    if scan.free(start, end):
        scan.report(HOLD, "name", start, end, f"{what}: {scan.quote(start, end)!r}")


def check_named_patients(scan: Scan, allow: Allow) -> None:
    """Hold names tied to a patient, a diagnosis, a treatment or a death."""
    text = scan.masked
    for m in _PATIENT_BEFORE.finditer(text):
        titled = m.group("noun")[0].isupper() and ":" not in m.group("sep") and not m.group("noun").startswith("Pt")
        if titled and not m.group("det"):
            continue  # "Patient Education Webinar": a title, not "our patient Maria" or "Patient: Maria"
        name, _, end = name_after(text, m.end())
        if name:
            _hold_name(scan, m.start(), end, "may name a patient")
    for m in _SPOTLIGHT.finditer(text):
        name, _, end = name_after(text, m.end())
        if name:
            _hold_name(scan, m.start(), end, "may name a patient")
    for m in _DESCRIPTOR_AFTER.finditer(text):
        name, _, start = name_before(text, m.start())
        if name:
            _hold_name(scan, start, m.end(), "may name a patient")
    for m in _PREDICATE.finditer(text):
        name, clinician, start = name_before(text, m.start())
        if name and (not clinician or _PASSIVE.match(m.group(0))):
            _hold_name(scan, start, m.end(), "names a person with their diagnosis or care")
    for m in _POSSESSIVE.finditer(text):
        name, clinician = _clean(m.group("name"), from_right=True)
        if name and (not clinician or _STRONGLY_PERSONAL.search(m.group("noun"))):
            _hold_name(
                scan,
                m.start("name") + m.group("name").rfind(name),
                m.end(),
                "names a person with their diagnosis or care",
            )
    for m in _NAME_AGE.finditer(text):
        name, _ = _clean(m.group(0).split(",")[0], from_right=True)
        if name and _in_clinical_sentence(scan, m.start()):
            _hold_name(scan, m.start(), m.end(), "names a person with their age in a clinical context")
    for m in _HONORIFIC_NAME.finditer(text):
        if _in_clinical_sentence(scan, m.start()):
            _hold_name(scan, m.start(), m.end(), "names a person in a clinical context")


def _sentence_at(scan: Scan, index: int) -> tuple[int, int]:
    for a, b in scan.sentences():
        if a <= index < b:
            return a, b
    return 0, len(scan.masked)


def _in_clinical_sentence(scan: Scan, index: int) -> bool:
    a, b = _sentence_at(scan, index)
    return _CLINICAL.search(scan.masked, a, b) is not None


def check_memorials(scan: Scan, allow: Allow) -> None:
    """Hold memorials of a named person: a hospital's post about a death discloses care."""
    text = scan.masked
    for m in _MEMORIAL.finditer(text):
        name, _, end = name_after(text, m.end())
        if name:
            _hold_name(scan, m.start(), end, "names a person in a memorial")
    for m in _LIFE_DATES.finditer(text):
        name, _ = _clean(m.group(0).split("(")[0].strip(), from_right=True)
        if name:
            _hold_name(scan, m.start(), m.end(), "gives a named person's life dates")


def check_testimonials(scan: Scan, allow: Allow) -> None:
    """Hold a health testimonial attributed to a name; warn about first-person health statements and patient stories."""
    text = scan.masked
    for m in _QUOTE.finditer(text):
        quote = m.group(1)
        if not _HEALTH.search(quote) or not (_FIRST_PERSON.search(quote) or _STORY.search(quote)):
            continue
        after = _ATTRIBUTION_AFTER.match(text, m.end())
        name = name_after(text, after.end())[0] if after else ""
        before = _ATTRIBUTION_BEFORE.search(text[max(0, m.start() - 80) : m.start()])
        if name or (before and _clean(before.group(0), from_right=False)[0]):
            _hold_name(scan, m.start(), m.end(), "quotes a named person about their health")
    signed = _DASH_SIGNATURE.search(text)
    for a, b in scan.sentences():
        first = _FIRST_PERSON.search(text, a, b)
        health = _HEALTH.search(text, a, b)
        if first and health and scan.free(first.start(), first.end()) and scan.free(health.start(), health.end()):
            if signed and _clean(signed.group("name"), from_right=False)[0]:
                _hold_name(scan, a, b, "a health testimonial signed with a name")
            else:
                scan.report(
                    WARN,
                    "testimonial",
                    a,
                    b,
                    f"reads like a personal health testimonial ({scan.quote(a, b)!r}): "
                    "publish only with the person's written consent",
                )
    for m in _STORY.finditer(text):
        if scan.free(m.start(), m.end()):
            scan.report(
                WARN,
                "story",
                m.start(),
                m.end(),
                f"tells a patient's story ({scan.quote(m.start(), m.end())!r}): "
                "publish only with the patient's written authorization",
            )
