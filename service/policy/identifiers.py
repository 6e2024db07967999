"""Identifiers HIPAA lists that can appear in a post's text, besides contact details and names.

Social Security numbers, record/plan/account/licence/serial/device numbers after their label, long
numbers of any kind, dates tied to a person's birth or care, ages over 89, street addresses and
post office boxes that are not the organisation's.
"""

from __future__ import annotations

import re

from .addresses import PO_BOX_RE, STREET_RE, ZIP_RE, find_streets, same_street
from .rules import Allow
from .scan import HOLD, Scan

_SSN = re.compile(r"(?<![\w-])\d{3}([- .])\d{2}\1\d{4}(?![\w-])")
_SSN_LABEL = re.compile(
    r"\b(?:SSN|SS\s?#|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:is|:|#)?\s*\d[\d\s.-]{2,}\d", re.I
)
_NUM = r"(?:number|num|no\.?|nbr|\#|id)"
_ID_LABELS = rf"""
  MRN | medical\s+record(?:\s+{_NUM})? | med(?:ical)?\s+rec(?:ord)?\s*{_NUM} | chart\s*{_NUM} | record\s*{_NUM}
| patient\s*{_NUM} | account\s*{_NUM} | acct\.?(?:\s*{_NUM})? | member(?:ship)?\s*{_NUM} | subscriber\s*{_NUM}
| policy\s*{_NUM} | group\s*(?:number|no\.?|\#) | (?:health\s+plan|insurance|insurer|plan)\s*{_NUM}
| beneficiary\s*{_NUM} | (?:medicare|medicaid|ahcccs)(?:\s*{_NUM}|\s+card\s+{_NUM}|\s*:) | MBI
| claim\s*{_NUM} | case\s*{_NUM} | encounter\s*{_NUM} | visit\s*{_NUM} | admission\s*{_NUM} | accession\s*{_NUM}
| specimen\s*{_NUM} | (?:driver'?s?\s+)?licen[cs]e\s*{_NUM} | DL\s*\# | certificate\s*{_NUM} | permit\s*{_NUM}
| serial\s*{_NUM} | S/N | SN\s*[:\#] | device\s*(?:{_NUM}|serial) | IMEI | UDI | MAC\s+address
| (?:license\s+)?plate\s*{_NUM}? | VIN | passport\s*{_NUM}? | ID\s*(?:number|no\.?|\#)?
"""
_LABELLED_ID = re.compile(
    rf"\b(?:{_ID_LABELS})\s*(?:is|was|:|=|-)?\s*[:#]?\s*(?P<value>[A-Za-z0-9](?:[A-Za-z0-9-]|[ ](?=\d))*[A-Za-z0-9])",
    re.I | re.X,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
# Digits joined by separators; a match is judged by its digit count and shape in _long_number.
_DIGIT_RUN = re.compile(r"(?<![\w.+/-])\+?\(?\d(?:[ .\-/()]{0,2}\d)+\)?")
_DATE_SHAPES = re.compile(
    r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|(?:19|20)\d\d\s*[-/]\s*(?:(?:19|20)?\d\d)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_DATE = rf"""(?:
    {_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?
  | \d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?
  | {_MONTH}\s+(?:of\s+)?\d{{4}}
  | \d{{1,2}}[/.-]\d{{1,2}}(?:[/.-]\d{{2,4}})?
  | \d{{4}}-\d{{1,2}}-\d{{1,2}}
  | (?:last\s+|this\s+past\s+|on\s+)?{_WEEKDAY} | yesterday | last\s+(?:night|week)
)"""
_DOB = re.compile(
    rf"\b(?:DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)\s*[:#-]?\s*(?:was\s+|is\s+)?(?:{_DATE})",
    re.I | re.X,
)
_CARE_EVENT = r"""(?:admitted|readmitted|discharged|hospitali[sz]ed|diagnosed|operated\s+on|
    had\s+(?:her|his|their)?\s*surgery|
    died|passed\s+away|deceased|seen\s+in\s+(?:the\s+)?(?:clinic|er|ed|emergency\s+room)|rushed\s+to\s+the\s+(?:hospital|er))"""
_CARE_DATE = re.compile(
    rf"""\b(?:
      {_CARE_EVENT}\s*(?:(?:on|in|at|back\s+in|early|late|this\s+past|the)\s+)*{_DATE}
    | (?:date\s+of\s+(?:admission|discharge|death|surgery|diagnosis|service|visit)|admission\s+date|discharge\s+date)
      \s*[:]?\s*(?:was\s+)?{_DATE}?
    | {_DATE}\s+(?:admission|discharge|death)
    )(?!\w)""",
    re.I | re.X,
)
_OLD_AGE = re.compile(
    r"\b(?:(9\d|1[01]\d)[- ](?:years?|yrs?)[- ]old(?!\s+(?:hospital|building|tradition|church|house|tree|company|"
    r"institution|clinic|center|organization|practice|program|charity|home))|(9\d|1[01]\d)\s*(?:y/o|yo)\b|"
    r"(?:aged?|age)\s+(9\d|1[01]\d)\b)",
    re.I,
)


def check_ssn(scan: Scan, allow: Allow) -> None:
    """Hold Social Security numbers (123-45-6789, or any number after "SSN")."""
    text = scan.blanked()
    for pattern in (_SSN_LABEL, _SSN):
        if not scan.may(pattern, text):
            continue
        for m in pattern.finditer(text):
            if scan.free(m.start(), m.end()):
                scan.report(
                    HOLD,
                    "ssn",
                    m.start(),
                    m.end(),
                    f"looks like a Social Security number ({scan.quote(m.start(), m.end())})",
                )


def check_labelled_ids(scan: Scan, allow: Allow) -> None:
    """Hold record, plan, account, licence, serial and device numbers written after their label."""
    text = scan.blanked()
    if not scan.may(_LABELLED_ID, text):
        return
    for m in _LABELLED_ID.finditer(text):
        value = m.group("value")
        alnum = sum(c.isalnum() for c in value)
        if alnum < 4 or not any(c.isdigit() for c in value) or _YEAR.fullmatch(value):
            continue
        if not scan.free(m.start(), m.end()):
            continue
        label = " ".join(text[m.start() : m.start("value")].split()).rstrip(":#=- ")
        scan.report(
            HOLD,
            "identifier",
            m.start(),
            m.end(),
            f"{label} {value}: an identifying number (record, plan, account, licence or device)",
        )


def _long_number(run: str) -> bool:
    digits = sum(c.isdigit() for c in run)
    if digits < 7 or _DATE_SHAPES.fullmatch(run.strip("()+")):
        return False
    groups = re.findall(r"\d+", run)
    if max(len(g) for g in groups) >= 7:
        return True
    if run.startswith("+") or re.search(r"[.\-/()]", run):
        return True
    # Space-separated: "4111 1111 1111 1111", "020 7946 0958"; not "2026 1200".
    return sum(1 for g in groups if len(g) >= 2) >= 3


def check_long_numbers(scan: Scan, allow: Allow) -> None:
    """Hold any other long number: it may be a phone, card, account or record number."""
    text = scan.blanked()
    for m in _DIGIT_RUN.finditer(text):
        run = m.group(0)
        if not _long_number(run) or not scan.free(m.start(), m.end()):
            continue
        if ZIP_RE.fullmatch(run) and run in allow.zips:
            continue
        scan.report(
            HOLD,
            "number",
            m.start(),
            m.end(),
            f"a long number ({scan.quote(m.start(), m.end())}) may identify a person "
            "(account, card, record or phone number)",
        )


def check_dates(scan: Scan, allow: Allow) -> None:
    """Hold dates of birth and dates tied to a person's admission, discharge, diagnosis, surgery or death."""
    text = scan.masked
    for m in _DOB.finditer(text) if scan.may(_DOB) else ():
        scan.report(HOLD, "date", m.start(), m.end(), f"a date of birth ({scan.quote(m.start(), m.end())})")
    for m in _CARE_DATE.finditer(text) if scan.may(_CARE_DATE) else ():
        if scan.free(m.start(), m.end()):
            scan.report(
                HOLD, "date", m.start(), m.end(), f"a date tied to a person's care ({scan.quote(m.start(), m.end())})"
            )
    for m in _OLD_AGE.finditer(text) if scan.may(_OLD_AGE) else ():
        if scan.free(m.start(), m.end()):
            scan.report(
                HOLD,
                "age",
                m.start(),
                m.end(),
                f"an age over 89 ({scan.quote(m.start(), m.end())}) identifies a person",
            )


def check_addresses(scan: Scan, allow: Allow) -> None:
    """Hold street addresses and post office boxes that are not the organisation's."""
    text = scan.blanked()
    for m, key in find_streets(text) if scan.may(STREET_RE, text) else ():
        if any(same_street(key, own) for own in allow.streets):
            scan.cover(m.start(), m.end())
            continue
        if scan.free(m.start(), m.end()):
            scan.report(
                HOLD,
                "address",
                m.start(),
                m.end(),
                f"street address {scan.quote(m.start(), m.end())} is not one of the organisation's",
            )
    for m in PO_BOX_RE.finditer(text) if scan.may(PO_BOX_RE, text) else ():
        if m.group(1) in allow.po_boxes:
            scan.cover(m.start(), m.end())
        elif scan.free(m.start(), m.end()):
            scan.report(
                HOLD,
                "address",
                m.start(),
                m.end(),
                f"post office box {scan.quote(m.start(), m.end())} is not the organisation's",
            )
