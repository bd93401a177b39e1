"""recforge campaign end to end on the shipped sample."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import recforge as rf
from recforge.cli import main

KEY = "0123456789abcdef0123456789abcdef"


def run(tmp_path, *extra, out="campaign.csv"):
    path = tmp_path / out
    fit = [] if "--fit" in extra else ["--fit", "itemknn"]  # quicker than the default EASE
    code = main(["campaign", "--data", "sample", "--out", str(path), "--quiet", "--candidates", "50", *fit, *extra])
    return code, path


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    data = rf.datasets.sample()
    items = data.interactions.item_ids
    descriptions = data.describe_items(np.arange(items.size)).astype(str)
    table = pd.DataFrame(
        {"item": items, "description": descriptions, "category": [d.split()[-1] for d in descriptions]}
    )
    path = tmp_path_factory.mktemp("products") / "products.csv"
    table.to_csv(path, index=False)
    return path, table


def test_campaign_writes_reranked_lists_with_reasons(tmp_path, capsys):
    code, path = run(tmp_path, "--fit", "ease")
    assert code == 0
    table = pd.read_csv(path, dtype={"customer": str, "item": str})
    assert list(table.columns) == ["customer", "rank", "item", "description", "score", "reason"]
    assert table.groupby("customer")["rank"].max().max() == 10
    assert (table["reason"].fillna("") != "").mean() > 0.9  # nearly every product says why
    assert not table.duplicated(["customer", "item"]).any()
    # the shipped shop's postage, carriage, fees and manual lines are not offered (POSTAGE was)
    services = {"POST", "M", "C2", "BANK CHARGES", "PADS"}
    assert not set(table["item"]) & services
    # nor are they a reason: "because you bought POSTAGE" headed 121 of these lists
    sample = rf.datasets.sample()
    at = sample.interactions.item_index(sorted(services))
    assert not set(table["reason"].dropna()) & set(sample.describe_items(at).astype(str))
    # diversity 0 and novelty 0 give the model's own top 10, in its order
    code, plain = run(tmp_path, "--fit", "ease", "--diversity", "0", "--novelty", "0", out="plain.parquet")
    assert code == 0
    plain = pd.read_parquet(plain)
    assert (plain.groupby("customer")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    printed = capsys.readouterr().out
    assert "customers, top-10 of 50 candidates" in printed
    assert "dropped rows: none" in printed  # said, as by every command that reads events


def test_reasons_name_only_products_the_customer_bought(tmp_path, capsys):
    """A log of views and purchases trained with --event-weights: the reason, which the default
    message prints as "because you bought ...", named a product the customer had only viewed.
    With --event-col the reasons come from the events of --purchase-events alone."""
    rng = np.random.default_rng(0)
    n_users, n_items = 120, 60
    bought = [(f"c{u}", f"p{i}", "transaction") for u in range(n_users) for i in rng.choice(n_items, 3, replace=False)]
    viewed = [(f"c{u}", f"p{i}", "view") for u in range(n_users) for i in rng.choice(n_items, 12, replace=False)]
    log = pd.DataFrame(bought + viewed, columns=["user", "item", "event"]).sample(frac=1.0, random_state=0)
    log.to_csv(tmp_path / "log.csv", index=False)
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--event-col", "event", "--fit", "itemknn", "--quiet"]
    argv += ["--event-weights", "view=1,transaction=5", "--candidates", "30", "--k", "5"]
    assert main([*argv, "--out", str(tmp_path / "before.csv"), "--purchase-events", "view,transaction"]) == 0
    assert main([*argv, "--out", str(tmp_path / "after.csv"), "--purchase-events", "transaction"]) == 0
    purchases = {(u, i) for u, i, _ in bought}
    for name, only_bought in (("before", False), ("after", True)):
        table = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        reasons = table[table["reason"] != ""]
        assert len(reasons) > 0.5 * len(table)
        named = [(c, r) in purchases for c, r in zip(reasons["customer"], reasons["reason"])]
        assert all(named) if only_bought else not all(named)  # views among the reasons before
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "none.csv")]) == 0  # the default type, purchase, names none
    assert "no event is a purchase ('purchase'; its types are" in capsys.readouterr().err
    assert (pd.read_csv(tmp_path / "none.csv", dtype=str, keep_default_na=False)["reason"] == "").all()


def test_a_denied_product_is_never_a_reason(tmp_path, capsys):
    """--rules deny keeps a product out of every list (a recall, a fee line); the message's
    "because you bought ..." named it all the same, for every customer who had bought it."""
    rng = np.random.default_rng(1)
    rows = [(f"c{u}", "RECALLED") for u in range(80)]
    rows += [(f"c{u}", f"p{i}") for u in range(80) for i in rng.choice(40, 4, replace=False)]
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "rules.json").write_text(json.dumps({"deny": ["RECALLED"]}))
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--fit", "itemknn", "--quiet", "--k", "5"]
    assert main([*argv, "--out", str(tmp_path / "open.csv")]) == 0
    opened = pd.read_csv(tmp_path / "open.csv", dtype=str, keep_default_na=False)
    assert (opened["reason"] == "RECALLED").any()  # the bought-by-all product explains much, unruled
    assert main([*argv, "--rules", str(tmp_path / "rules.json"), "--out", str(tmp_path / "denied.csv")]) == 0
    denied = pd.read_csv(tmp_path / "denied.csv", dtype=str, keep_default_na=False)
    assert "RECALLED" not in set(denied["item"]) | set(denied["reason"])
    assert (denied["reason"] != "").mean() > 0.9  # the customers' other products say why instead


def test_online_retails_postage_and_fee_codes_in_a_users_own_file_are_pointed_out(tmp_path, capsys):
    """The shipped sample leaves POST, M and the fees out by itself; the full UCI file given as
    --data offered POST 42 times in EASE's campaign and gave POSTAGE as a reason 83 times,
    without a word. Where the data holds two of those codes or more and a list offers one (or a
    reason names one), the hint names them and the --rules that keeps them out."""
    rng = np.random.default_rng(2)
    rows = [(f"c{u}", "POST") for u in range(0, 80, 2)] + [(f"c{u}", "M") for u in range(1, 80, 4)]
    rows += [(f"c{u}", f"p{i}") for u in range(80) for i in rng.choice(30, 4, replace=False)]
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(tmp_path / "log.csv", index=False)
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--fit", "itemknn", "--quiet", "--k", "5"]
    assert main([*argv, "--out", str(tmp_path / "c.csv")]) == 0
    err = capsys.readouterr().err
    assert "the lists offer or give as a reason POST (" in err
    assert 'not products; --rules with {"deny": ["POST", "M"]} keeps them out' in err
    (tmp_path / "rules.json").write_text(json.dumps({"deny": ["M", "POST"]}))
    assert main([*argv, "--rules", str(tmp_path / "rules.json"), "--out", str(tmp_path / "d.csv")]) == 0
    assert "Online Retail's codes" not in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "d.csv", dtype=str, keep_default_na=False)
    assert not {"M", "POST"} & (set(table["item"]) | set(table["reason"]))


def test_recforge_own_tables_read_back_as_segments_exclusions_and_opt_outs(tmp_path, capsys):
    """recforge's tables name their ids "customer" and "item", whatever --user-col and
    --item-col were: campaign's --segments, --exclude and --suppress looked for the events'
    names only, so the customer table could not give the messages their segments, nor the last
    campaign's file be excluded (the README's own example), without renaming columns."""
    pytest.importorskip("jinja2")
    assert main(["customers", "--data", "sample", "--quiet", "--out", str(tmp_path / "customers.csv")]) == 0
    table = pd.read_csv(tmp_path / "customers.csv", dtype={"customer": str})
    code, _ = run(tmp_path, "--segments", str(tmp_path / "customers.csv"), "--segment-col", "rfm_segment",
                  "--messages", str(tmp_path / "m.csv"))  # fmt: skip
    assert code == 0
    messages = pd.read_csv(tmp_path / "m.csv", dtype={"customer": str}).set_index("customer")
    want = table.set_index("customer")["rfm_segment"].reindex(messages.index)
    assert want.notna().all() and (messages["segment"] == want).all()
    champions = messages[messages["segment"] == "Champions"]["message"]
    assert len(champions) and champions.str.startswith("Thank you for being one of our best customers!").all()
    # the last campaign's file as --exclude, recforge customers' table as --suppress: as written
    code, _ = run(tmp_path, "--exclude", str(tmp_path / "campaign.csv"), out="next.csv")
    assert code == 0
    last, following = (pd.read_csv(tmp_path / f, dtype=str) for f in ("campaign.csv", "next.csv"))
    assert len(following) and not set(zip(last.customer, last["item"])) & set(
        zip(following.customer, following["item"])
    )
    champions = table[table["rfm_segment"] == "Champions"]
    champions.to_csv(tmp_path / "optout.csv", index=False)
    code, _ = run(tmp_path, "--suppress", str(tmp_path / "optout.csv"), out="kept.csv")
    kept = pd.read_csv(tmp_path / "kept.csv", dtype=str)
    assert code == 0 and len(kept) and not set(kept.customer) & set(champions.customer)
    table.rename(columns={"customer": "client"}).to_csv(tmp_path / "other.csv", index=False)
    code, _ = run(tmp_path, "--segments", str(tmp_path / "other.csv"), "--segment-col", "rfm_segment")
    assert code == 2 and "--segments: " in capsys.readouterr().err


def test_exclude_seen_keeps_out_the_history_the_purchases_or_nothing(tmp_path, capsys):
    """--exclude-seen: all of a customer's products stay out of the lists (the default), only
    the purchased ones (viewed products come back as reminders), or none (a product bought
    before offered again: replenishment); --exclude applies in every case."""
    rng = np.random.default_rng(1)
    rows = [(f"c{u}", f"p{i}", "purchase") for u in range(100) for i in rng.choice(40, 4, replace=False)]
    rows += [(f"c{u}", f"p{i}", "view") for u in range(100) for i in rng.choice(40, 6, replace=False)]
    log = pd.DataFrame(rows, columns=["user", "item", "event"])
    log.to_csv(tmp_path / "log.csv", index=False)
    pd.DataFrame({"user": ["c0"], "item": [log[log.user == "c0"]["item"].iloc[0]]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    seen = set(zip(log.user, log["item"]))
    bought = set(zip(log.user[log.event == "purchase"], log["item"][log.event == "purchase"]))
    argv = [
        "campaign",
        "--data",
        str(tmp_path / "log.csv"),
        "--event-col",
        "event",
        "--event-weights",
        "view=1,purchase=3",
    ]
    argv += ["--fit", "itemknn", "--candidates", "30", "--k", "8", "--exclude", str(tmp_path / "x.csv")]
    lists = {}
    for how in ("all", "purchases", "none"):
        assert main([*argv, "--exclude-seen", how, "--out", str(tmp_path / f"{how}.csv")]) == 0
        assert "; 1 pairs excluded (--exclude" in capsys.readouterr().out  # the file's pair, nothing else
        table = pd.read_csv(tmp_path / f"{how}.csv", dtype=str)
        lists[how] = set(zip(table.customer, table["item"]))
        assert ("c0", log[log.user == "c0"]["item"].iloc[0]) not in lists[how]
    assert not lists["all"] & seen
    assert not lists["purchases"] & bought and lists["purchases"] & (seen - bought)  # reminders of views
    assert lists["none"] & bought  # bought before, offered again
    # a product bought before is its own reason, and the default message says so
    pytest.importorskip("jinja2")
    out, messages = str(tmp_path / "again.csv"), str(tmp_path / "m.csv")
    assert main([*argv, "--exclude-seen", "none", "--out", out, "--messages", messages]) == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    again = [(c, i) in bought for c, i in zip(table.customer, table["item"])]
    assert any(again) and (table["reason"][again] == table["item"][again]).all()
    assert not (table["reason"][[not a for a in again]] == table["item"][[not a for a in again]]).any()
    first = table[again].iloc[0]
    text = pd.read_csv(messages, dtype=str).set_index("customer").loc[first.customer, "message"]
    assert f"{first['item']} (bought before)" in text


def test_pseudonyms_are_stable_keyed_and_never_written(tmp_path, monkeypatch):
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY)
    assert run(tmp_path, "--pseudonymise", out="a.csv")[0] == 0
    assert run(tmp_path, "--pseudonymise", out="b.csv")[0] == 0
    a, b = (pd.read_csv(tmp_path / f, dtype=str) for f in ("a.csv", "b.csv"))
    assert a.equals(b)  # the same pseudonyms in every run
    plain = pd.read_csv(run(tmp_path, out="plain.csv")[1], dtype=str)
    assert set(a["customer"]).isdisjoint(plain["customer"]) and a["customer"].str.len().eq(32).all()
    assert KEY not in (tmp_path / "a.csv").read_text()
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY[::-1])
    assert run(tmp_path, "--pseudonymise", out="c.csv")[0] == 0
    c = pd.read_csv(tmp_path / "c.csv", dtype=str)
    assert set(c["customer"]).isdisjoint(a["customer"])  # another key, other pseudonyms


def test_rules_products_segments_and_messages(tmp_path, products):
    path, table = products
    deny = table["item"].iloc[:50].tolist()
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"deny": deny, "caps": 1}))
    segments = tmp_path / "segments.csv"
    customers = rf.datasets.sample().interactions.user_ids
    pd.DataFrame({"user": customers, "segment": np.where(np.arange(customers.size) % 2, "Champions", "Lost")}).to_csv(
        segments, index=False
    )
    template = tmp_path / "message.j2"
    template.write_text(
        "{% if segment == 'Champions' %}Merci{% else %}Bonjour{% endif %} — "
        "{% for i in items %}{{ i.item }}|{{ i.description }}{% if not loop.last %}, {% endif %}{% endfor %}",
        encoding="utf-8",
    )
    messages = tmp_path / "messages.csv"
    code, out = run(
        tmp_path,
        "--products", str(path), "--category-col", "category", "--rules", str(rules),
        "--segments", str(segments), "--messages", str(messages), "--template", str(template),
    )  # fmt: skip
    assert code == 0
    got = pd.read_csv(out, dtype={"customer": str, "item": str})
    assert not set(got["item"]) & set(map(str, deny))
    category = dict(zip(table["item"].astype(str), table["category"]))
    per_list = got.assign(category=got["item"].map(category)).groupby("customer")["category"]
    assert per_list.apply(lambda c: c.is_unique).all()  # caps 1: one product per category
    assert set(got["segment"]) == {"Champions", "Lost"}
    text = pd.read_csv(messages, encoding="utf-8")
    assert text["message"].str.match(r"^(Merci|Bonjour) — ").all()
    first = [pair.split("|") for pair in text["message"][0].split(" — ")[1].split(", ")]
    rows = got[got["customer"] == str(text["customer"][0])]
    assert first == [[item, d] for item, d in zip(rows["item"], rows["description"])]  # product ids, not codes


@pytest.mark.parametrize("suffix, escaped", [(".html", True), (".HTM", True), (".xml", True), (".txt", False)])
def test_an_html_template_escapes_what_it_prints(tmp_path, suffix, escaped):
    """An HTML e-mail template printed 'RECORD FRAME 7" SINGLE SIZE' and 'SNAKES & LADDERS'
    as they are, breaking its attributes; as Jinja2's select_autoescape, a template named
    .html, .htm or .xml escapes the values (never its own markup), any other prints text."""
    log = pd.DataFrame({"user": ["a", "a", "b", "b", "c"], "item": ["p1", "p2", "p1", "p3", "p2"]})
    log.to_csv(tmp_path / "log.csv", index=False)
    products = pd.DataFrame(
        {"item": ["p1", "p2", "p3"], "description": ['FRAME 7" <SINGLE>', "SNAKES & LADDERS", "MUG"]}
    )
    products.to_csv(tmp_path / "products.csv", index=False)
    template = tmp_path / f"mail{suffix}"
    template.write_text('<ul>{% for i in items %}<li title="{{ i.description }}">x</li>{% endfor %}</ul>')
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--fit", "itemknn", "--quiet", "--products"]
    argv += [str(tmp_path / "products.csv"), "--messages", str(tmp_path / "m.csv"), "--template", str(template)]
    assert main([*argv, "--out", str(tmp_path / "c.csv"), "--novelty", "0", "--diversity", "0"]) == 0
    text = " ".join(pd.read_csv(tmp_path / "m.csv")["message"])
    assert text.startswith("<ul><li title=")
    if escaped:
        assert "SNAKES &amp; LADDERS" in text or "FRAME 7&#34; &lt;SINGLE&gt;" in text
        assert "SNAKES & LADDERS" not in text and '7" <SINGLE>' not in text
    else:
        assert "SNAKES & LADDERS" in text or '7" <SINGLE>' in text


def test_a_product_of_several_categories_counts_in_each(tmp_path, products):
    """--category-col "A|B" (MovieLens' genres "Adventure|Comedy") is two categories, as the
    content features read it: a cap of one keeps every category of the list once; --category-sep
    '' keeps "A|B" one category of its own (the reading before)."""
    path, table = products
    words = table["description"].str.split()
    several = table.assign(category=[f"{w[-1]}|{w[0]}" for w in words])
    several.to_csv(tmp_path / "products.csv", index=False)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"caps": 1}))
    argv = ["--products", str(tmp_path / "products.csv"), "--category-col", "category", "--rules", str(rules)]
    code, out = run(tmp_path, *argv)
    assert code == 0
    got = pd.read_csv(out, dtype={"customer": str, "item": str})
    parts = dict(zip(several["item"].astype(str), several["category"].str.split("|")))
    listed = got.assign(part=got["item"].map(parts)).explode("part").groupby("customer")["part"]
    assert listed.apply(lambda c: c.is_unique).all()  # no category twice, first or last word
    code, out = run(tmp_path, *argv, "--category-sep", "", out="one.csv")
    assert code == 0
    whole = pd.read_csv(out, dtype={"customer": str, "item": str})
    whole = whole.assign(category=whole["item"].map(dict(zip(several["item"].astype(str), several["category"]))))
    assert whole.groupby("customer")["category"].apply(lambda c: c.is_unique).all()
    assert (
        not whole.assign(part=whole["category"].str.split("|"))
        .explode("part")
        .groupby("customer")["part"]
        .apply(lambda c: c.is_unique)
        .all()
    )  # combinations apart, single words repeat


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--out", "x.txt"], "writes"),
        (["--template", "t.j2"], "--template needs --messages"),
        (["--pseudonymise"], "no pseudonym key"),
        (["--key-file", "k.txt"], "--key-file needs --pseudonymise"),
        (["--diversity", "2"], "--diversity must be in [0, 1], got 2.0"),
        (["--novelty", "-1"], "--novelty must be a finite number >= 0, got -1.0"),
        # inf was refused as a --rules error
        (["--novelty", "inf"], "--novelty must be a finite number >= 0, got inf"),
        (["--calibration", "inf"], "--calibration must be a finite number >= 0, got inf"),
        (["--k", "20", "--candidates", "10"], "--candidates must be >= --k (20), got 10"),
        (["--calibration", "1"], "categories"),
        (["--exclude", "absent.csv"], "--exclude: no such file"),
        (["--suppress", "absent.csv"], "--suppress: no such file"),
        (["--holdout", "1"], "--holdout must be in [0, 1), got 1.0"),
        (["--holdout", "0.1", "--holdout-seed", "-2"], "--holdout-seed must be >= 0, got -2"),
        (["--holdout-out", "control.csv"], "--holdout-out needs --holdout"),
        (["--holdout", "0.1", "--holdout-out", "control.txt"], "--holdout-out"),
        (["--holdout", "0.1", "--holdout-out", "c.csv"], "--holdout-out and --out name the same file"),
        (["--messages", "./c.csv"], "--messages and --out name the same file"),
        # columns of a table not given were ignored: no cap by category, no descriptions
        (["--category-col", "category"], "--category-col needs --products"),
        (["--description-col", "Description"], "--description-col needs --products"),
        (["--product-col", "StockCode"], "--product-col needs --products"),
        (["--segment-col", "tier"], "--segment-col needs --segments"),
        # was "--model: unknown model" (no such option here), after reading the events
        (["--fit", "deepnet"], "--fit: unknown model 'deepnet'"),
    ],
)
def test_campaign_refuses_mistakes_with_one_line(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.delenv("RECFORGE_PSEUDONYM_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    args = ["campaign", "--data", "sample", "--quiet"]
    args += extra if "--out" in extra else ["--out", "c.csv", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "c.csv").exists()


def test_excluded_pairs_and_suppressed_customers_never_reach_the_file(tmp_path, capsys):
    """--exclude (the last campaign's products, say) keeps those pairs out of every list, before
    re-ranking; --suppress (opt-outs) keeps those customers out of the file and the messages.
    Rows naming customers or products the data does not hold are counted."""
    code, first = run(tmp_path, out="first.csv")
    assert code == 0
    before = pd.read_csv(first, dtype={"customer": str, "item": str})
    sent = before[before["rank"] <= 3][["customer", "item"]].rename(columns={"customer": "user"})
    stray = pd.DataFrame({"user": ["nobody", sent["user"].iloc[0]], "item": ["22423", "NO-SUCH-SKU"]})
    pd.concat([sent, stray]).to_csv(tmp_path / "sent.csv", index=False)
    opted_out = before["customer"].drop_duplicates().iloc[:7].tolist()
    pd.DataFrame({"user": [*opted_out, "ghost"]}).to_csv(tmp_path / "optout.csv", index=False)
    capsys.readouterr()
    code, path = run(
        tmp_path, "--exclude", str(tmp_path / "sent.csv"), "--suppress", str(tmp_path / "optout.csv"),
        "--messages", str(tmp_path / "messages.csv"),
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "7 customers suppressed" in out and f"{len(sent):,} pairs excluded" in out and "--data: 2)" in out
    after = pd.read_csv(path, dtype={"customer": str, "item": str})
    assert not set(zip(after["customer"], after["item"])) & set(zip(sent["user"], sent["item"]))
    assert not after["customer"].isin(opted_out).any()
    assert set(after["customer"]) == set(before["customer"]) - set(opted_out)
    messages = pd.read_csv(tmp_path / "messages.csv", dtype={"customer": str})
    assert not messages["customer"].isin(opted_out).any() and len(messages) == after["customer"].nunique()
    # customers not excluded from anything keep lists of the same length
    assert (after.groupby("customer").size() == 10).all()


def test_an_opt_out_list_written_with_decimal_ids_still_suppresses(tmp_path, capsys):
    """pandas writes an integer id column with a gap as 17850.0: such an opt-out list matched
    no customer of the data (whose ids read 17850), and every opted-out customer was sent the
    campaign (with only a warning that nothing matched; a mixed list, not even that)."""
    code, first = run(tmp_path, out="first.csv")
    assert code == 0
    before = pd.read_csv(first, dtype={"customer": str, "item": str})
    opted_out = before["customer"].drop_duplicates().iloc[:4].tolist()
    written = [f"{c}.0" for c in opted_out[:3]] + opted_out[3:]  # mixed, as a concatenated export
    pd.DataFrame({"user": written}).to_csv(tmp_path / "optout.csv", index=False)
    assert ".0" in (tmp_path / "optout.csv").read_text()
    capsys.readouterr()
    code, path = run(tmp_path, "--suppress", str(tmp_path / "optout.csv"))
    assert code == 0
    assert "4 customers suppressed" in capsys.readouterr().out
    after = pd.read_csv(path, dtype={"customer": str, "item": str})
    assert not after["customer"].isin(opted_out).any()


def test_a_control_group_is_held_out_by_customer_and_seed(tmp_path, capsys):
    """--holdout keeps a share of the customers out of the campaign file and the messages (the
    control group, rf.campaign.holdout's); --holdout-out writes their lists apart. Together the
    two files are the campaign without a control group, row for row."""
    code, whole = run(tmp_path, out="whole.csv")
    assert code == 0
    capsys.readouterr()
    code, path = run(
        tmp_path, "--holdout", "0.15", "--holdout-seed", "4", "--holdout-out", str(tmp_path / "control.csv"),
        "--messages", str(tmp_path / "messages.csv"),
    )  # fmt: skip
    assert code == 0
    read = {"dtype": {"customer": str, "item": str}, "keep_default_na": False}
    sent, control = pd.read_csv(path, **read), pd.read_csv(tmp_path / "control.csv", **read)
    everyone = pd.read_csv(whole, **read)
    customers = everyone["customer"].unique()
    held = rf.campaign.holdout(customers, 0.15, seed=4)
    assert set(control["customer"]) == set(customers[held]) and set(sent["customer"]) == set(customers[~held])
    assert f"{int(held.sum()):,} held out as the control group" in capsys.readouterr().out
    together = pd.concat([sent, control]).sort_values(["customer", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, everyone.sort_values(["customer", "rank"]).reset_index(drop=True))
    messages = pd.read_csv(tmp_path / "messages.csv", dtype={"customer": str})
    assert set(messages["customer"]) == set(customers[~held])
    assert "--holdout-out" not in capsys.readouterr().err
    # without --holdout-out the control group is not scored; the campaign file is the same, and
    # stderr says that recforge lift will lack the control group's lists
    code, again = run(tmp_path, "--holdout", "0.15", "--holdout-seed", "4", out="again.csv")
    assert code == 0 and again.read_bytes() == path.read_bytes()
    err = capsys.readouterr().err
    assert f"the control group's {int(held.sum()):,} customers and their lists are written nowhere" in err


def test_lists_of_pseudonyms_are_matched_and_lists_matching_nobody_are_said(tmp_path, capsys, monkeypatch):
    """A pseudonymised campaign's own file, given back as --exclude (or --suppress), names its
    customers by pseudonym: with the key they are matched. A list that matches nobody (ids
    written another way, another column) changed nothing in silence; now stderr says so."""
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY)
    code, first = run(tmp_path, "--pseudonymise", out="first.csv")
    assert code == 0
    sent = pd.read_csv(first, dtype={"customer": str, "item": str})
    sent[sent["rank"] <= 2][["customer", "item"]].rename(columns={"customer": "user"}).to_csv(
        tmp_path / "sent.csv", index=False
    )
    some = sent["customer"].drop_duplicates().iloc[:4]
    pd.DataFrame({"user": some}).to_csv(tmp_path / "optout.csv", index=False)
    capsys.readouterr()
    extra = ["--exclude", str(tmp_path / "sent.csv"), "--suppress", str(tmp_path / "optout.csv")]
    code, path = run(tmp_path, "--pseudonymise", *extra)
    assert code == 0 and "warning" not in capsys.readouterr().err
    again = pd.read_csv(path, dtype={"customer": str, "item": str})
    pairs = set(zip(sent.loc[sent["rank"] <= 2, "customer"], sent.loc[sent["rank"] <= 2, "item"]))
    assert not set(zip(again["customer"], again["item"])) & pairs
    assert not again["customer"].isin(some).any() and again["customer"].nunique() == sent["customer"].nunique() - 4
    # the same files without the key match nobody: said, and nothing is excluded or suppressed
    code, path = run(tmp_path, *extra, out="plain.csv")
    err = capsys.readouterr().err
    assert code == 0 and "--suppress: none of its 4 rows names a customer of --data" in err
    assert "--exclude: none of its" in err and "needs --pseudonymise" in err


def test_bad_rules_are_refused(tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"ban": [1]}))
    assert run(tmp_path, "--rules", str(rules))[0] == 2
    assert "keys among" in capsys.readouterr().err
    rules.write_text(json.dumps({"deny": ["NOT-A-PRODUCT"]}))
    assert run(tmp_path, "--rules", str(rules))[0] == 2
    assert "not in the data" in capsys.readouterr().err
    # a bare string was read letter by letter (then an IndexError traceback); a text boost
    # gave "could not convert string to float"; a JSON list failed listing its keys
    for given, message in (
        ({"deny": "22423"}, '--rules deny: a list of product ids, got "22423"'),
        ({"allow": [None]}, "--rules allow: a list of product ids"),
        ({"boost": {"22423": "high"}}, "--rules boost: an object of product id -> number"),
        # an integer of 400 digits gave "TypeError: ufunc 'isfinite' not supported"
        ({"boost": {"22423": 10**400}}, "--rules boost: an object of product id -> number"),
        (["deny"], "got a JSON list"),
        # a misspelt key named none of the keys meant
        ({"boosts": {"22423": 2}}, "got ['boosts']; did you mean 'boost'?"),
        # nothing left to offer wrote a campaign file of no rows, exit 0
        ({"allow": []}, "--rules: allow is empty: every list would be empty"),
        ({"allow": ["22423"], "deny": ["22423"]}, "--rules: allow and deny leave no product"),
        # a product written in another case is named
        ({"deny": ["85123a", "NOPE"]}, "not in the data: ['85123a', 'NOPE']; did you mean '85123A' for '85123a'?"),
    ):
        rules.write_text(json.dumps(given))
        assert run(tmp_path, "--rules", str(rules))[0] == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_recommend_and_similar_with_a_product_table_use_the_inputs_names(tmp_path, products):
    path, table = products
    inter = rf.datasets.sample().interactions
    rows = np.repeat(np.arange(inter.n_users), np.diff(inter.matrix.indptr))
    events = pd.DataFrame({"customer": inter.user_ids[rows], "sku": inter.item_ids[inter.matrix.indices]})
    events.to_csv(tmp_path / "events.csv", index=False)
    model = tmp_path / "model.npz"
    data = ["--data", str(tmp_path / "events.csv")]
    train = ["train", *data, "--user-col", "customer", "--item-col", "sku", "--model", "itemknn"]
    assert main([*train, "--out", str(model), "--quiet"]) == 0
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(model), *data, "--products", str(path), "--out", str(out), "--quiet"]) == 0
    recs = pd.read_csv(out, dtype=str)
    assert list(recs.columns[:4]) == ["customer", "rank", "sku", "description"]
    described = dict(zip(table["item"].astype(str), table["description"]))
    assert (recs["description"] == recs["sku"].map(described)).all()
    blocks = tmp_path / "blocks.csv"  # out of core: the same columns and descriptions
    assert main(["recommend", "--model", str(model), *data, "--products", str(path), "--out", str(blocks),
                 "--blocks", "3", "--quiet"]) == 0  # fmt: skip
    key = ["customer", "rank"]
    by_blocks = pd.read_csv(blocks, dtype=str).sort_values(key).reset_index(drop=True)
    in_memory = recs.sort_values(key).reset_index(drop=True)
    assert list(by_blocks.columns) == list(recs.columns)
    pd.testing.assert_frame_equal(by_blocks[[*key, "sku", "description"]], in_memory[[*key, "sku", "description"]])
    out = tmp_path / "similar.csv"
    similar_args = ["similar", "--model", str(model), "--items", "85123A", "--products", str(path)]
    assert main([*similar_args, "--out", str(out)]) == 0
    similar = pd.read_csv(out, dtype=str)
    assert list(similar.columns) == ["sku", "description", "rank", "similar_sku", "similar_description", "score"]
    assert similar["description"].iloc[0] == described["85123A"]
    assert (similar["similar_description"] == similar["similar_sku"].map(described)).all()


def test_a_template_failing_on_a_customer_leaves_no_files(tmp_path, capsys):
    """Messages are rendered before anything is written: no campaign file without its messages."""
    template = tmp_path / "t.j2"
    template.write_text("{% if items|length > 3 %}{{ 1 / 0 }}{% endif %}Hello", encoding="utf-8")
    out, messages = tmp_path / "c.csv", tmp_path / "m.csv"
    args = ["campaign", "--data", "sample", "--quiet", "--out", str(out), "--messages", str(messages)]
    assert main([*args, "--template", str(template)]) == 2
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not messages.exists()


def test_a_table_beside_the_events_may_use_the_other_delimiter(tmp_path, products, capsys):
    """Events kept with semicolons (--sep ';') beside a product table written with commas: the
    product table was read with ';' too and refused ("has no column 'item' ... is the delimiter
    ';'? give it as the separator, --sep"), though --sep was given. Each table beside the events
    is read with --sep, or with the delimiter its header line holds the key column by."""
    path, table = products
    inter = rf.datasets.sample().interactions
    rows = np.repeat(np.arange(inter.n_users), np.diff(inter.matrix.indptr))
    events = pd.DataFrame({"customer": inter.user_ids[rows], "sku": inter.item_ids[inter.matrix.indices]})
    events.to_csv(tmp_path / "events.csv", index=False, sep=";")
    table.to_csv(tmp_path / "products_semicolon.csv", index=False, sep=";")
    model = tmp_path / "model.npz"
    data = ["--data", str(tmp_path / "events.csv"), "--sep", ";"]
    assert main(["train", *data, "--user-col", "customer", "--item-col", "sku", "--model", "itemknn",
                 "--out", str(model), "--quiet"]) == 0  # fmt: skip
    written = {}
    for name, products_file in (("comma", path), ("semicolon", tmp_path / "products_semicolon.csv")):
        out = tmp_path / f"recs_{name}.csv"
        argv = ["recommend", "--model", str(model), *data, "--products", str(products_file), "--out", str(out)]
        assert main([*argv, "--quiet"]) == 0, capsys.readouterr().err
        written[name] = pd.read_csv(out, dtype=str)
    pd.testing.assert_frame_equal(written["comma"], written["semicolon"])
    described = dict(zip(table["item"].astype(str), table["description"]))
    assert (written["comma"]["description"] == written["comma"]["sku"].map(described)).all()
    # a header that neither delimiter splits to the key: --sep, and the error says what is missing
    (tmp_path / "odd.csv").write_text("item:description\nA:x\n")
    argv = ["recommend", "--model", str(model), *data, "--products", str(tmp_path / "odd.csv")]
    assert main([*argv, "--out", str(tmp_path / "r.csv"), "--quiet"]) == 2
    assert "--products" in capsys.readouterr().err


def test_a_purchase_log_as_the_product_table_gives_each_product_its_given_description(tmp_path, capsys):
    """Online Retail's own log as --products: a product's first lines may have no description
    (zero-price adjustments) and the later ones have it; the first line was taken, and 59 of
    3,665 products had "no description there". Spaces around a description are not part of it
    (a message printed "(because you bought REGENCY MILK JUG PINK )"), and spaces alone are none."""
    inter = rf.datasets.sample().interactions
    model = tmp_path / "model.npz"
    rf.ItemKNN().fit(inter).save(model)
    log = pd.DataFrame(
        {
            "item": ["85123A", "85123A", "85123A", "85123A"] + [i for i in inter.item_ids[:51] if i != "85123A"][:50],
            "description": [None, "", "  ", " WHITE HANGING HEART "] + [f"product {i}" for i in range(50)],
        }
    )
    log.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "similar.csv"
    argv = ["similar", "--model", str(model), "--items", "85123A", "--products", str(tmp_path / "log.csv")]
    assert main([*argv, "--out", str(out)]) == 0
    assert pd.read_csv(out, dtype=str)["description"].iloc[0] == "WHITE HANGING HEART"


def test_a_column_of_descriptions_in_the_events_is_pointed_out(tmp_path, capsys):
    """Without --products the campaign file and its messages name products by id ("because you
    bought 22423") though the events hold their descriptions (Online Retail's Description): the
    hint says that --products can be the events file itself, and is not said once it is."""
    ev = rf.datasets.sample().interactions.events
    items = ev.item_ids[ev.item]
    log = pd.DataFrame({"customer": ev.user_ids[ev.user], "sku": items, "Description": [f"THING {i}" for i in items]})
    log.to_csv(tmp_path / "log.csv", index=False)
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--user-col", "customer", "--item-col", "sku"]
    argv += ["--fit", "itemknn", "--candidates", "30", "--quiet", "--out", str(tmp_path / "c.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "column Description looks like product descriptions" in err
    assert f"--products {tmp_path / 'log.csv'} --description-col Description names them" in err
    assert main([*argv, "--products", str(tmp_path / "log.csv"), "--description-col", "Description"]) == 0
    assert "looks like product descriptions" not in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "c.csv", dtype=str)["description"].str.startswith("THING ").all()


def test_the_descriptions_hint_keeps_quiet_without_pandas(tmp_path, capsys, monkeypatch):
    """The hint reads the first rows through pandas: without the io extra (a plain install) it
    is not said, and the campaign is written, where first_rows' pandas was None."""
    from backends import without_pandas
    from recforge.cli import _negatives, _purchases, features

    pd.DataFrame(
        {"customer": ["a", "a", "b", "b", "c"], "sku": ["x", "y", "x", "z", "y"], "title": list("XYXZY")}
    ).to_csv(tmp_path / "log.csv", index=False)
    without_pandas(monkeypatch)
    for module in (_negatives, _purchases, features):  # as in a plain install
        monkeypatch.setattr(module, "pd", None)
    argv = ["campaign", "--data", str(tmp_path / "log.csv"), "--user-col", "customer", "--item-col", "sku"]
    assert main([*argv, "--fit", "itemknn", "--quiet", "--out", str(tmp_path / "c.csv")]) == 0
    assert "looks like product descriptions" not in capsys.readouterr().err
    assert (tmp_path / "c.csv").exists()


def test_a_customer_the_model_cannot_answer_gets_trending_products_and_a_message(tmp_path, capsys):
    """Online Retail's 13672 kept one product after returns, one nobody else bought: ItemKNN
    had no neighbour to offer, the campaign file held no row for them and the messages file
    "Hello! Picked for you:" and nothing after it. Short lists are now completed with trending
    products, ranked after the model's own; a customer whom the rules leave no product gets no
    message, and the count is said."""
    rng = np.random.default_rng(0)
    rows = [(f"C{u}", f"P{rng.zipf(1.5) % 20}") for u in range(60) for _ in range(4)]
    rows += [("LONER", "ONLY"), ("PAIR1", "RARE"), ("PAIR2", "RARE"), ("PAIR2", "P1")]
    log = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=["customer", "sku"]).to_csv(log, index=False)
    out, messages = tmp_path / "c.csv", tmp_path / "m.csv"
    argv = ["campaign", "--data", str(log), "--user-col", "customer", "--item-col", "sku", "--fit", "itemknn"]
    argv += ["--k", "5", "--candidates", "10", "--quiet", "--messages", str(messages), "--out", str(out)]
    assert main(argv) == 0
    said = capsys.readouterr().out
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    loner = table[table.customer == "LONER"]
    assert len(loner) == 5 and set(loner["reason"]) == {""}  # best sellers, nobody's "because"
    buyers = pd.DataFrame(rows, columns=["customer", "sku"]).drop_duplicates()["sku"].value_counts()
    assert set(loner["item"]) <= set(buyers.index[buyers >= buyers.iloc[9]])  # of the 10 best sellers
    assert "lists hold trending products (the model offered fewer than 10 candidates)" in said
    # PAIR1's model offers what PAIR2 bought beside RARE first, the trending products after it
    pair1 = table[table.customer == "PAIR1"].sort_values("rank")
    assert pair1["item"].iloc[0] == "P1" and pair1["reason"].iloc[0] == "RARE" and len(pair1) == 5
    sent = pd.read_csv(messages, dtype=str)
    assert set(sent.customer) == set(table.customer) and "LONER" in set(sent.customer)
    assert all(m.count("\n") > 2 for m in sent.message)  # every message lists products

    # a rule that leaves some customers nothing: no list, no message, said
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"allow": ["P1"]}))
    assert main([*argv, "--rules", str(rules)]) == 0
    said = capsys.readouterr().out
    table = pd.read_csv(out, dtype=str)
    sent = pd.read_csv(messages, dtype=str)
    bought_p1 = {c for c, i in rows if i == "P1"}
    assert set(table.customer) == set(sent.customer) and not set(sent.customer) & bought_p1
    assert f"({len(bought_p1):,} customers without a product get none)" in said


def test_a_segment_table_of_other_ids_is_refused_and_gaps_are_counted(tmp_path, capsys):
    """A segment table whose ids matched none of the customers left every segment empty and
    the messages without their segment copy, exit 0."""
    table = tmp_path / "segments.csv"
    table.write_text("customer,segment\nX1,VIP\nX2,Lost\n")
    code, path = run(tmp_path, "--segments", str(table))
    assert code == 2 and not path.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--segments: none of the data's 2,169 customers is in it" in err[0]
    table.write_text("customer,segment\n17850,VIP\n12583,Lost\n")
    code, path = run(tmp_path, "--segments", str(table))
    assert code == 0 and "--segments: 2,167 of 2,169 customers are in no segment" in capsys.readouterr().err


def test_lists_the_min_new_rule_could_not_fill_are_counted(tmp_path, capsys):
    """The re-ranking places new products from each customer's candidates only: a rule of one new
    product a list left 44 of 130 MovieLens lists without one, and the run said nothing of it."""
    data = rf.datasets.sample()
    bought = np.bincount(data.interactions.matrix.indices, minlength=data.interactions.n_items)
    rare = data.interactions.item_ids[np.argsort(bought, kind="stable")[-300:-297]].tolist()  # a few known products
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"new_items": rare, "min_new": 1}))
    code, path = run(tmp_path, "--rules", str(rules), "--k", "5")
    assert code == 0
    table = pd.read_csv(path, dtype={"customer": str, "item": str})
    lacking = int((~table["item"].isin(rare)).groupby(table["customer"]).all().sum())
    assert 0 < lacking < table["customer"].nunique()
    err = capsys.readouterr().err
    assert f"warning: {lacking:,} lists hold fewer than 1 new product (--rules min_new): their 50 candidates" in err
    assert "a larger --candidates" in err
