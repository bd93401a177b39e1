"""Keyed pseudonyms and message templates."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pytest
import recforge as rf

KEY = b"0123456789abcdef-test-key"


def test_pseudonyms_are_hmac_sha256_stable_and_keyed():
    ids = ["c1", 17, "Zoë", 17.0]
    got = rf.campaign.pseudonymise(ids, KEY)
    want = [hmac.new(KEY, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:32] for v in ids]
    assert got.tolist() == want
    assert rf.campaign.pseudonymise(ids, KEY).tolist() == want  # stable across calls
    other = rf.campaign.pseudonymise(ids, KEY + b"!")
    assert not set(other) & set(got)  # another key: unrelated pseudonyms
    assert len(set(rf.campaign.pseudonymise(np.arange(10_000), KEY))) == 10_000
    assert len(rf.campaign.pseudonymise(ids, KEY, length=64)[0]) == 64


def test_pseudonymise_refuses_weak_keys_and_lengths():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        rf.campaign.pseudonymise(["a"], b"short")
    with pytest.raises(TypeError, match="bytes"):
        rf.campaign.pseudonymise(["a"], "a text key of enough length")
    with pytest.raises(ValueError, match="length"):
        rf.campaign.pseudonymise(["a"], KEY, length=8)
    with pytest.raises(ValueError, match="64"):
        rf.campaign.pseudonymise(["a"], KEY, length=65)


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan])
def test_pseudonymise_refuses_missing_ids_and_keeps_the_shape(missing):
    """As text, every missing id would be "None" or "nan": one pseudonym shared by all of them."""
    with pytest.raises(ValueError, match="missing id .* at position 2"):
        rf.campaign.pseudonymise(np.array(["a", "b", missing, "c"], dtype=object), KEY)
    grid = np.array([["a", "b"], ["c", "a"]])
    got = rf.campaign.pseudonymise(grid, KEY)
    assert got.shape == (2, 2) and got[0, 0] == got[1, 1] == rf.campaign.pseudonymise(["a"], KEY)[0]


def test_load_key_from_file_or_environment(tmp_path, monkeypatch):
    path = tmp_path / "key.txt"
    path.write_bytes(KEY + b"\n")
    assert rf.campaign.load_key(path) == KEY
    path.write_bytes(KEY + b"\r\n")  # saved on Windows: the same key, the same pseudonyms
    assert rf.campaign.load_key(path) == KEY
    path.write_bytes(KEY)
    assert rf.campaign.load_key(path) == KEY
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY.decode())
    assert rf.campaign.load_key() == KEY
    monkeypatch.delenv("RECFORGE_PSEUDONYM_KEY")
    with pytest.raises(ValueError, match="no pseudonym key.*secrets"):
        rf.campaign.load_key()
    path.write_bytes(b"tiny")
    with pytest.raises(ValueError, match="at least 16"):
        rf.campaign.load_key(path)
    with pytest.raises(ValueError, match="cannot be read"):
        rf.campaign.load_key(tmp_path / "missing.txt")


def test_templates_render_any_language_and_refuse_typos():
    t = rf.campaign.MessageTemplate(
        "{% if segment == 'Champions' %}Merci, {{ customer }} !{% else %}Bonjour {{ customer }}{% endif %}\n"
        "{% for i in items %}{{ i.rank }}. {{ i.description }} — {{ i.reason }}\n{% endfor %}"
    )
    context = {
        "customer": "Zoë",
        "segment": "Champions",
        "items": [{"rank": 1, "description": "Théière en fonte 茶", "reason": "Tasse à café"}],
    }
    assert t.render(context) == "Merci, Zoë !\n1. Théière en fonte 茶 — Tasse à café\n"
    assert t.render({**context, "segment": None}).startswith("Bonjour Zoë")
    with pytest.raises(ValueError, match="undefined"):
        rf.campaign.MessageTemplate("{{ custmer }}").render(context)
    with pytest.raises(ValueError, match="line 1"):
        rf.campaign.MessageTemplate("{% for %}")
    with pytest.raises(ValueError, match="unsafe|access"):  # the sandbox: no Python internals
        rf.campaign.MessageTemplate("{{ customer.__class__.__mro__ }}").render(context)
    for source, failure in (("{{ 1 / 0 }}", "ZeroDivisionError"), ("{{ customer + 1 }}", "TypeError")):
        with pytest.raises(ValueError, match=f"message template: {failure}"):  # the template's own code
            rf.campaign.MessageTemplate(source).render(context)
    html = rf.campaign.MessageTemplate("<b>{{ customer }}</b>", autoescape=True)
    assert html.render({"customer": "<script>"}) == "<b>&lt;script&gt;</b>"


def test_the_default_template():
    t = rf.campaign.MessageTemplate(rf.campaign.default_template())
    items = [
        {"rank": 1, "description": "RED MUG", "reason": "BLUE MUG"},
        {"rank": 2, "description": "TEA", "reason": ""},
    ]
    text = t.render({"customer": "x", "segment": "At Risk", "items": items})
    assert text.startswith("We have missed you") and "1. RED MUG (because you bought BLUE MUG)" in text
    assert "2. TEA\n" in text
    assert t.render({"customer": "x", "segment": None, "items": items}).startswith("Hello!")


def test_a_message_template_pickles_for_workers():
    """multiprocessing, joblib and Dask pickle what they send: a compiled Jinja2 template does
    not pickle, so the template travels as its text and is compiled again."""
    import pickle

    pytest.importorskip("jinja2")
    t = rf.campaign.MessageTemplate("Grüß {{ customer }}: {{ items | length }}", autoescape=True)
    copy = pickle.loads(pickle.dumps(t))
    context = {"customer": "<Zoë>", "items": [1, 2]}
    assert copy.render(context) == t.render(context) == "Grüß &lt;Zoë&gt;: 2"
