"""The `payload_schema` of GET /api/automations is exactly what the server enforces (issue 14 item 16):
for every automation, a payload the published schema accepts is accepted, and one it refuses is refused.

The schema is checked as a client would (jsonschema, draft 2020-12, `format` asserted); the server's
answer is the automation's serializer, as POST /api/submissions runs it. Payloads are a valid one
changed by boundary values taken from the schema itself (lengths, bounds, enums, patterns, types) and,
with hypothesis, by several changes at once and arbitrary text.

One rule has no JSON Schema equivalent and is the only one skipped: the DFD's `alinhamentoPE` refuses
two lines naming the same objective (compared by its numbers, or case-insensitively); the published
description says so.
"""

import copy
import functools
import json

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from submissions.automations import all_automations
from submissions.automations.dfd import OBJETIVO
from submissions.payloads import json_schema
from tests.submissions.conftest import FORM
from tests.submissions.test_dfd import DFD

VALID = {"form2json": FORM, "dfd": DFD}
# Values a rule of one field is about, beyond what its schema lists (formats, patterns, cross-field rules).
SAMPLES = {
    "email": ["a@b.co", "A.B@C.GO.GOV.BR", "a@b", "a..b@c.de", ".a@b.co", "a@-b.co", "a@b.c", "ação@x.com.br",
              "a b@c.de", " a@b.co", "a@b.co ", "a@b.co\n", "@b.co", "a@b.co@d.ef", "a@" + "b" * 64 + ".co"],
    "date": ["2026-01-05", "2026-1-5", "2026-02-30", "2024-02-29", "2025-02-29", "0000-01-01", "9999-12-31",
             "2026-01-05\n", " 2026-01-05", "20260105", "2026-01-05T00:00:00", "٢٠٢٦-٠١-٠٥"],
    "pcaAno": ["2026", "2027", "0000", "202", "20266", " 2026", "2026 ", "2026\n", "٢٠٢٦", "20x6"],
    "prazosEnvolvidos": ["março de 2026", "dezembro de 2026", "março de 2027", "março de 2016", "Março de 2026",
                         "marco de 2026", "março  de 2026", " março de 2026", "março de 2026 ", "março de 2026\n",
                         "março de 26", "março de ٢٠٢٦", "fevereiro de 2026x"],
    "dependenciaQual": ["", " ", "\u3000", "x", " x "],
    "haDependencia": ["Sim", "Não", "", None, "sim", "Nao"],
    "descricao": ["", " ", "\t\n", "\u00a0", None, "x", " x "],
}
JUNK = [None, True, False, 0, 1, -1, 2.0, 1.5, 10**400, float("inf"), -float("inf"), "", " ", "\u3000", "\x00",
        "a\x00b", "x", "X", "\ufeff", "\x1c", "a\u2028", [], {}, ["x"], {"x": 1}]


def _strings(schema):
    for n in (schema.get("minLength"), schema.get("maxLength")):
        if n is not None:
            yield from ("x" * n, "x" * max(n - 1, 0), "x" * (n + 1), "x" * max(n - 1, 0) + " ", " " * n,
                        "é" * n, "\n" * n)


def _numbers(schema):
    for n in (schema.get("minimum"), schema.get("maximum")):
        if n is not None and abs(n) < 1e300:
            yield from (n, n - 1, n + 1, float(n), n + 0.5, n - 0.5)


def candidates(name: str, schema: dict) -> list:
    """Values worth trying for a property with this published schema."""
    values = [*JUNK, *_strings(schema), *_numbers(schema), *SAMPLES.get(name, []),
              *SAMPLES.get(schema.get("format"), [])]
    for member in schema.get("enum", []):
        if isinstance(member, str):
            values += [member, member + " ", " " + member, member.upper(), member[:-1]]
    if "const" in schema:
        values += [schema["const"], not schema["const"]]
    return values


def agree(kind: str, payload) -> tuple[bool, bool, dict]:
    # Through JSON and back, as the request carries it (1e999 arrives as inf, 2.0 stays a float).
    payload = json.loads(json.dumps(payload))
    automation = all_automations()[kind]
    serializer = automation.payload_serializer(data=payload)
    accepted = serializer.is_valid()
    return _validator(kind).is_valid(payload), accepted, serializer.errors


@functools.cache
def _validator(kind):
    schema = json_schema(all_automations()[kind].payload_serializer())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _repeats_an_objective(payload) -> bool:
    """The one rule JSON Schema cannot state (the module docstring)."""
    text = payload.get("alinhamentoPE") if isinstance(payload, dict) else None
    if not isinstance(text, str):
        return False
    keys = []
    for line in (line.strip() for line in text.strip().splitlines()):
        if line:
            match = OBJETIVO.search(line)
            keys.append((int(match[1]), int(match[2])) if match else line.casefold())
    return len(keys) != len(set(keys))


def assert_agree(kind, payload):
    published, accepted, found = agree(kind, payload)
    assert published == accepted, (f"{kind}: schema {'accepts' if published else 'refuses'}, server "
                                   f"{'accepts' if accepted else 'refuses'} {payload!r} ({found})")


def _changes(kind):
    """(where, key, value) for every property of the payload and of its first item row."""
    schema = json_schema(all_automations()[kind].payload_serializer())
    for name, prop in schema["properties"].items():
        for value in candidates(name, prop):
            yield None, name, value
        if prop["type"] == "array":
            item = prop.get("contains") or prop["items"]
            for field, field_schema in item["properties"].items():
                for value in candidates(field, field_schema):
                    yield name, field, value


def _apply(payload, where, key, value):
    payload = copy.deepcopy(payload)
    rows = payload.get(where) if where else None
    if where and not (isinstance(rows, list) and rows and isinstance(rows[0], dict)):
        return payload  # an earlier change replaced the rows
    target = rows[0] if where else payload
    target[key] = value
    return payload


def test_every_automation_has_a_valid_payload_here():
    assert set(VALID) == set(all_automations())
    for kind, payload in VALID.items():
        assert agree(kind, payload)[:2] == (True, True)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_one_change_at_a_time(kind):
    checked = 0
    for where, key, value in _changes(kind):
        assert_agree(kind, _apply(VALID[kind], where, key, value))
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("kind", sorted(VALID))
def test_missing_and_unknown_keys(kind):
    valid = VALID[kind]
    for key in valid:
        assert_agree(kind, {k: v for k, v in valid.items() if k != key})
    for where in [None, *(k for k, v in valid.items() if isinstance(v, list))]:
        assert_agree(kind, _apply(valid, where, "desconhecido", 1))
    for not_an_object in ([], "x", None, 1, [valid]):
        assert_agree(kind, not_an_object)


def test_the_reviewers_case_terms_not_accepted():
    published, accepted, _ = agree("form2json", {**FORM, "aceitaTermos": False})
    assert (published, accepted) == (False, False)


@pytest.mark.parametrize(("kind", "field"), [("form2json", "itens"), ("dfd", "items")])
def test_item_lists(kind, field):
    valid, row = VALID[kind], VALID[kind][field][0]
    blank = {"descricao": "  ", "quantidade": "abc"}
    for rows in ([], [row] * 100, [row] * 101, [row] * 100 + [blank] * 5, [blank], [row, None], [row, "x"],
                 [row, {**row, "descricao": None}], [{"quantidade": 1}], row):
        assert_agree(kind, {**valid, field: rows})


def test_a_dependency_needs_its_description():
    for item in [{"haDependencia": "Sim", "dependenciaQual": "  "}, {"haDependencia": "Sim"},
                 {"haDependencia": "Sim", "dependenciaQual": "x"}, {"haDependencia": None, "dependenciaQual": ""}]:
        base = {k: v for k, v in DFD["items"][0].items() if k != "dependenciaQual"}
        assert_agree("dfd", {**DFD, "items": [{**base, **item}]})


def test_prazos_in_the_pca_year():
    for ano in ["2026", "2027", "1999", "2100", "0000"]:
        for prazo in ["março de 2026", "março de 2027", "abril de 1999", "maio de 2100", "junho de 0000",
                      "julho de 2062", "julho de 6202"]:
            assert_agree("dfd", {**DFD, "pcaAno": ano, "prazosEnvolvidos": prazo})


def _value():
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
                     st.text(alphabet=" \t\n\u00a0\u3000xX0é@.-", max_size=12),
                     st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@st.composite
def _mutated(draw, kind):
    changes = list(_changes(kind))
    payload = VALID[kind]
    for _ in range(draw(st.integers(1, 4))):
        where, key, value = draw(st.sampled_from(changes))
        if draw(st.booleans()):
            value = draw(_value())
        payload = _apply(payload, where, key, value)
    return payload


@pytest.mark.parametrize("kind", sorted(VALID))
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_several_changes_at_once(kind, data):
    payload = data.draw(_mutated(kind))
    assume(not _repeats_an_objective(payload))
    assert_agree(kind, payload)


def test_through_the_api(owner_client):
    """The endpoint publishes this schema and the create endpoint refuses what it refuses."""
    published = {a["kind"]: a["payload_schema"] for a in owner_client.get("/api/automations").json()}
    assert published["form2json"] == json_schema(all_automations()["form2json"].payload_serializer())
    response = owner_client.post("/api/submissions", {"kind": "form2json", "payload": {**FORM, "aceitaTermos": False}},
                                 format="json")
    assert response.status_code == 400
