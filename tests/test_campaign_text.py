"""Keyed pseudonyms and message templates."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pytest
import recforge as rf

KEY = b"0123456789abcdef-test-key"


def test_pseudonyms_are_hmac_sha256_stable_and_keyed():
    ids = ["c1", 17, "Zoë", 17.5]
    got = rf.campaign.pseudonymise(ids, KEY)
    want = [hmac.new(KEY, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:32] for v in ids]
    assert got.tolist() == want
    assert rf.campaign.pseudonymise(ids, KEY).tolist() == want  # stable across calls
    other = rf.campaign.pseudonymise(ids, KEY + b"!")
    assert not set(other) & set(got)  # another key: unrelated pseudonyms
    assert len(set(rf.campaign.pseudonymise(np.arange(10_000), KEY))) == 10_000
    assert len(rf.campaign.pseudonymise(ids, KEY, length=64)[0]) == 64


def test_an_integer_id_written_with_a_zero_decimal_part_is_the_integer():
    """pandas writes an integer id column with a gap as floats (17850.0): recforge reads that
    customer as 17850 everywhere (the campaign file names them so), but pseudonymise and
    holdout hashed "17850.0", so pseudonyms made from the frame matched no line of the file,
    and the control group drawn from it was another one."""
    forms = [17850, "17850", 17850.0, "17850.0", np.float64(17850.0), "17850.00"]
    assert len(set(rf.campaign.pseudonymise(forms, KEY).tolist())) == 1
    seeds = [s for s in range(200) if rf.campaign.holdout([17850], 0.5, seed=s)[0]]
    for seed in seeds[:5]:  # drawn alike in every form
        assert rf.campaign.holdout(forms, 0.5, seed=seed).all()
    others = ["17850.5", "1.7850e4", "c17850.0"]  # not integers written so: their own text
    assert len(set(rf.campaign.pseudonymise([17850, *others], KEY).tolist())) == 4


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
    with pytest.raises(TypeError, match="autoescape must be a bool"):  # "no" was True
        rf.campaign.MessageTemplate("x", autoescape="no")
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


LIST_TEMPLATE = (
    "{{ customer }}|{{ segment }}|{% for i in items %}{{ i.rank }}:{{ i.item }}:{{ i.description }}"
    ":{{ i.score }}:{{ i.reason }};{% endfor %}"
)


def _campaign_arrays(n=40, n_items=7, k=4, seed=0):
    rng = np.random.default_rng(seed)
    lists = rng.integers(0, n_items, (n, k))
    lists[rng.random(n) < 0.3, 2:] = -1  # short lists: -1 padding at the end
    lists[0] = -1  # a customer with nothing to offer
    reasons = np.where(rng.random((n, k)) < 0.5, rng.integers(0, n_items, (n, k)), -1)
    scores = rng.random((n, k)).astype(np.float32)
    descriptions = np.array([f"Théière {j} 茶" for j in range(n_items)], dtype=object)
    item_ids = np.array([f"P{j}" for j in range(n_items)], dtype=object)
    customers = np.array([f"Zoë{u}" for u in range(n)], dtype=object)
    segments = np.array([None if u % 3 == 0 else f"S{u % 3}" for u in range(n)], dtype=object)
    return customers, lists, descriptions, item_ids, scores, reasons, segments


def test_render_lists_equals_rendering_each_customers_context():
    t = rf.campaign.MessageTemplate(LIST_TEMPLATE)
    customers, lists, descriptions, item_ids, scores, reasons, segments = _campaign_arrays()
    got = t.render_lists(
        customers, lists, descriptions, item_ids=item_ids, scores=scores, reasons=reasons, segments=segments
    )
    expected = []
    for u in range(len(customers)):
        items = [
            {
                "rank": r + 1,
                "item": item_ids[j],
                "description": descriptions[j],
                "score": float(scores[u, r]),
                "reason": descriptions[reasons[u, r]] if reasons[u, r] >= 0 else "",
            }
            for r, j in enumerate(lists[u])
            if j >= 0
        ]
        expected.append(t.render({"customer": customers[u], "segment": segments[u], "items": items}))
    assert got == expected
    assert got[0] == "Zoë0||"  # no segment prints as nothing ("None" was written into messages)
    # without the optional arrays: column numbers as ids, no score, no reason, no segment
    bare = t.render_lists(customers[:2], lists[:2], descriptions)
    assert bare[1] == "Zoë1||" + "".join(f"{r + 1}:{j}:{descriptions[j]}::;" for r, j in enumerate(lists[1]))


def test_render_lists_in_worker_processes_gives_the_same_messages(monkeypatch):
    from recforge.campaign import message

    t = rf.campaign.MessageTemplate(LIST_TEMPLATE)
    arrays = _campaign_arrays(n=50)
    customers, lists, descriptions, item_ids, scores, reasons, segments = arrays
    kwargs = {"item_ids": item_ids, "scores": scores, "reasons": reasons, "segments": segments}
    serial = t.render_lists(customers, lists, descriptions, n_workers=2, **kwargs)  # 50 customers: this process
    monkeypatch.setattr(message, "PARALLEL_FROM", 10)
    monkeypatch.setattr(message, "BLOCK", 7)
    assert len(message._blocks(50, 2)) == 8  # blocks of 7, sent to two workers
    assert t.render_lists(customers, lists, descriptions, n_workers=2, **kwargs) == serial
    assert t.render_lists(customers, lists, descriptions, n_workers=1, **kwargs) == serial
    # a template failing for one customer (an empty list) fails the call, with its reason
    failing = rf.campaign.MessageTemplate("{{ 1 // items | length }}")
    with pytest.raises(ValueError, match="message template: ZeroDivisionError"):
        failing.render_lists(customers, lists, descriptions, n_workers=2)


def test_render_lists_refuses_arrays_that_disagree():
    t = rf.campaign.MessageTemplate(LIST_TEMPLATE)
    customers, lists, descriptions, item_ids, scores, reasons, segments = _campaign_arrays(n=5)
    with pytest.raises(TypeError, match="recommended must be a 2-D integer array"):
        t.render_lists(customers, lists.astype(float), descriptions)
    with pytest.raises(TypeError, match="recommended must be a 2-D integer array"):
        t.render_lists(customers, lists[0], descriptions)
    with pytest.raises(ValueError, match="customers must be 5 values"):
        t.render_lists(customers[:4], lists, descriptions)
    with pytest.raises(ValueError, match=r"recommended must hold product columns in \[0, 6\)"):
        t.render_lists(customers, lists, descriptions[:6])
    with pytest.raises(ValueError, match="item_ids must be 7 values"):
        t.render_lists(customers, lists, descriptions, item_ids=item_ids[:3])
    with pytest.raises(ValueError, match="segments must be 5 values"):
        t.render_lists(customers, lists, descriptions, segments=segments[:2])
    with pytest.raises(ValueError, match="scores must be numbers shaped as recommended"):
        t.render_lists(customers, lists, descriptions, scores=scores[:, :2])
    with pytest.raises(ValueError, match="reasons must be integers shaped as recommended"):
        t.render_lists(customers, lists, descriptions, reasons=reasons.astype(float))
    with pytest.raises(ValueError, match="reasons must hold product columns"):
        t.render_lists(customers, lists, descriptions, reasons=reasons + 10)
    with pytest.raises(ValueError, match="n_workers must be >= 0"):
        t.render_lists(customers, lists, descriptions, n_workers=-1)
    with pytest.raises(TypeError, match="n_workers must be an integer"):
        t.render_lists(customers, lists, descriptions, n_workers=1.5)
    assert t.render_lists([], np.zeros((0, 3), dtype=np.int64), descriptions) == []


def test_a_template_shows_its_start():
    pytest.importorskip("jinja2")
    short = rf.campaign.MessageTemplate("Hi {{ customer }}")
    assert repr(short) == "MessageTemplate('Hi {{ customer }}', autoescape=False)"
    assert repr(rf.campaign.MessageTemplate("x" * 100)) == f"MessageTemplate('{'x' * 37}...', autoescape=False)"


def test_none_prints_as_nothing():
    """Without a segment table a template's {{ segment }} wrote "None" into the customers'
    messages; None prints as nothing, and a name the context lacks is still an error."""
    template = rf.campaign.MessageTemplate("Hej {{ customer }}[{{ segment }}]{% if not segment %}!{% endif %}")
    assert template.render({"customer": "Åsa", "segment": None}) == "Hej Åsa[]!"
    assert template.render({"customer": "Åsa", "segment": "Champions"}) == "Hej Åsa[Champions]"
    messages = template.render_lists(["a"], np.array([[0]]), ["Kaffekopp"])  # no segments given
    assert messages == ["Hej a[]!"]
    with pytest.raises(ValueError, match="undefined|no attribute|is not defined"):
        rf.campaign.MessageTemplate("{{ segmnet }}").render({"customer": "a", "segment": None})
