"""recforge lift end to end: a campaign with a control group on the shipped sample, then events
after the send made up so that the answer is known by counting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import recforge as rf
from recforge.cli import main

KEY = "0123456789abcdef0123456789abcdef"
SEND = pd.Timestamp("2012-01-02")


def campaign(tmp_path, *extra):
    argv = ["campaign", "--data", "sample", "--fit", "itemknn", "--candidates", "30", "--quiet", "--holdout", "0.3"]
    argv += ["--holdout-out", str(tmp_path / "control.csv"), "--out", str(tmp_path / "campaign.csv"), *extra]
    assert main(argv) == 0
    read = {"dtype": {"customer": str, "item": str}}
    return pd.read_csv(tmp_path / "campaign.csv", **read), pd.read_csv(tmp_path / "control.csv", **read)


def after_the_send(treated: pd.DataFrame, control: pd.DataFrame, customer_of=None) -> tuple[pd.DataFrame, dict]:
    """Events after the send: some customers buy their first listed product, some buy something
    else, some buy outside the window or are in neither group; and the rates by counting."""
    rng = np.random.default_rng(0)
    rows, truth = [], {}
    for name, lists, p_listed in (("treated", treated, 0.5), ("control", control, 0.25)):
        first = lists[lists["rank"] == 1].set_index("customer")["item"]
        customers = first.index.to_numpy()
        listed = rng.random(customers.size) < p_listed
        other = ~listed & (rng.random(customers.size) < 0.2)
        for c, item in zip(customers[listed], first[listed]):
            rows.append((c, item, SEND + pd.Timedelta(days=3)))
        for c in customers[other]:
            rows.append((c, "NOT-LISTED", SEND + pd.Timedelta(days=5)))
        late = customers[~listed & ~other][:20]  # after the window, or before the send: not counted
        rows += [(c, first[c], SEND + pd.Timedelta(days=40)) for c in late[:10]]
        rows += [(c, first[c], SEND - pd.Timedelta(days=1)) for c in late[10:]]
        truth[name] = (float((listed | other).mean()), float(listed.mean()), customers.size)
    rows.append(("somebody else", "22423", SEND + pd.Timedelta(days=1)))
    events = pd.DataFrame(rows, columns=["user", "item", "time"])
    if customer_of is not None:
        events["user"] = events["user"].map(customer_of)
    return events.sample(frac=1.0, random_state=0), truth


def lift(tmp_path, *extra) -> pd.DataFrame:
    argv = ["lift", "--campaign", str(tmp_path / "campaign.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--time-col", "time", "--since", str(SEND.date()), "--days", "30"]
    assert main([*argv, "--out", str(tmp_path / "lift.csv"), *extra]) == 0
    return pd.read_csv(tmp_path / "lift.csv").set_index("conversion")


def test_lift_counts_each_groups_conversion_in_the_window(tmp_path, capsys):
    treated, control = campaign(tmp_path)
    events, truth = after_the_send(treated, control)
    events.to_csv(tmp_path / "after.csv", index=False)
    table = lift(tmp_path)
    for group in ("treated", "control"):
        anything, listed, n = truth[group]
        assert table.loc["bought anything", group] == pytest.approx(anything, abs=1e-6)
        assert table.loc["bought a listed product", group] == pytest.approx(listed, abs=1e-6)
        assert (table[f"n_{group}"] == n).all()
    want = rf.campaign.lift(
        np.arange(truth["treated"][2]) < round(truth["treated"][1] * truth["treated"][2]),
        np.arange(truth["control"][2]) < round(truth["control"][1] * truth["control"][2]),
    )
    assert table.loc["bought a listed product", "p_value"] == pytest.approx(want["p_value"], rel=1e-5)
    assert table.loc["bought a listed product", "low"] > 0  # 50% against 25%: a clear lift
    assert "received the campaign" in capsys.readouterr().out
    # the same events in Parquet with integer customer ids (the sample's ids are numbers as text)
    ints = events[events["user"] != "somebody else"].astype({"user": np.int64})
    ints.to_parquet(tmp_path / "after.parquet", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "campaign.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.parquet"), "--time-col", "time", "--since", str(SEND.date())]
    assert main([*argv, "--out", str(tmp_path / "lift2.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "lift2.csv").set_index("conversion"), table)


def test_lines_no_one_can_be_credited_with_are_counted(tmp_path, capsys):
    """Lines of the window without a customer, a product or a time were left out in silence
    (19,113 of Online Retail's November 2011 lines have no customer)."""
    treated, control = campaign(tmp_path)
    events, truth = after_the_send(treated, control)
    odd = events.head(6).copy().astype({"time": object})
    odd.loc[odd.index[:3], "user"] = None
    odd.loc[odd.index[3:5], "item"] = None
    odd.loc[odd.index[5], "time"] = None
    pd.concat([events, odd]).to_csv(tmp_path / "after.csv", index=False)
    table = lift(tmp_path)
    assert table.loc["bought a listed product", "treated"] == pytest.approx(truth["treated"][1], abs=1e-6)
    out = capsys.readouterr().out
    assert "dropped rows: missing_user 3, missing_item 2, missing_time 1" in out


def test_pseudonymised_files_are_matched_through_the_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY)
    (tmp_path / "plain").mkdir()
    plain_treated, plain_control = campaign(tmp_path / "plain")  # the same campaign, ids in the clear
    events, truth = after_the_send(plain_treated, plain_control)
    treated, control = campaign(tmp_path, "--pseudonymise")
    assert not set(treated["customer"]) & set(plain_treated["customer"])
    events.to_csv(tmp_path / "after.csv", index=False)  # the shop's events hold the real ids
    table = lift(tmp_path, "--pseudonymise")
    assert table.loc["bought a listed product", "treated"] == pytest.approx(truth["treated"][1], abs=1e-6)
    assert table.loc["bought a listed product", "control"] == pytest.approx(truth["control"][1], abs=1e-6)
    capsys.readouterr()
    # Forgot the key: nobody matched, and 0% in both groups was written as the result. Refused.
    argv = ["lift", "--campaign", str(tmp_path / "campaign.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--time-col", "time", "--since", str(SEND.date())]
    assert main([*argv, "--out", str(tmp_path / "forgot.csv")]) == 2
    err = capsys.readouterr().err
    assert "name their customers by pseudonyms" in err and "pass --pseudonymise" in err and err.count("\n") == 1
    assert not (tmp_path / "forgot.csv").exists()
    # The key given for lists written in the clear: every event's customer became a pseudonym.
    plain = [
        "--campaign",
        str(tmp_path / "plain" / "campaign.csv"),
        "--control",
        str(tmp_path / "plain" / "control.csv"),
    ]
    assert main(["lift", *plain, *argv[5:], "--pseudonymise"]) == 2
    assert "not by pseudonyms: leave out --pseudonymise" in capsys.readouterr().err
    # A log kept pseudonymised names nobody of these lists (another key): said, not refused,
    # as a campaign whose customers bought nothing would read the same.
    events.assign(user=rf.campaign.pseudonymise(events["user"], b"another key of 16+ bytes")).to_csv(
        tmp_path / "after.csv", index=False
    )
    table = lift(tmp_path)
    assert (table["treated"] == 0).all() and "need --pseudonymise" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        (["--since", "2012-01-02", "--time-col", None], "--since needs --time-col"),
        (["--days", "0", "--since", "2012-01-02"], "--days must be > 0"),
        (["--days", "nan", "--since", "2012-01-02"], "--days must be > 0"),
        (["--days", "7"], "--days needs --since"),
        (["--since", "2013-01-02"], "its lines run from 2012-01-03T00:00:00 to 2012-01-04T00:00:00"),
        (["--items", " , "], "--items names no product"),
        (["--key-file", "k.txt"], "--key-file needs --pseudonymise"),
        (["--confidence", "1.5"], "--confidence"),
        (["--data", "absent.csv"], "no such file"),
        (["--time-col", "when"], "no column 'when'"),
        (["--out", "lift.txt"], "--out"),
    ],
)
def test_lift_refuses_mistakes_with_one_line(tmp_path, capsys, monkeypatch, change, message):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"customer": ["a", "a", "b"], "item": ["x", "y", "x"]}).to_csv("campaign.csv", index=False)
    pd.DataFrame({"customer": ["c"], "item": ["x"]}).to_csv("control.csv", index=False)
    pd.DataFrame({"user": ["a", "c"], "item": ["x", "z"], "time": ["2012-01-03", "2012-01-04"]}).to_csv(
        "after.csv", index=False
    )
    args = {"--campaign": "campaign.csv", "--control": "control.csv", "--data": "after.csv", "--time-col": "time"}
    extra = []
    for option, value in zip(change[::2], change[1::2]):
        if option in args:
            args[option] = value
        else:
            extra += [option, value]
    argv = ["lift"] + [x for option, value in args.items() if value is not None for x in (option, value)] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_target_lists_are_measured_on_the_products_they_were_for(tmp_path, capsys):
    """recforge target's lists name no product: --items says which purchases count."""
    pd.DataFrame({"customer": ["a", "b", "c", "d"], "rank": [1, 2, 4, 5]}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["e", "f"], "rank": [3, 6]}).to_csv(tmp_path / "control.csv", index=False)
    events = {"user": ["a", "b", "b", "e", "f", "zz"], "item": ["P1", "P2", "P9", "P9", "P1", "P1"]}
    pd.DataFrame(events).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--out", str(tmp_path / "lift.csv")]
    assert main([*argv, "--items", "P1,P2"]) == 0
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    assert table.loc["bought anything", ["treated", "control"]].tolist() == [0.5, 1.0]
    assert table.loc["bought one of --items", ["treated", "control"]].tolist() == [0.5, 0.5]
    capsys.readouterr()
    assert main(argv) == 2
    assert "needs --items" in capsys.readouterr().err
    # the hint is for a list without products, not for a customer column named otherwise
    assert main([*argv, "--customer-col", "CustomerID"]) == 2
    err = capsys.readouterr().err
    assert "no column 'CustomerID'" in err and "--items" not in err


def test_items_nobody_bought_are_named(tmp_path, capsys):
    """A mistyped --items product converts nobody in either group: 0% against 0% reads as a
    result, so the products nobody bought are named, with the id meant where only case differs."""
    pd.DataFrame({"customer": ["a", "b"], "rank": [1, 2]}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["e"], "rank": [3]}).to_csv(tmp_path / "control.csv", index=False)
    pd.DataFrame({"user": ["a", "e"], "item": ["85123A", "P1"]}).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv")]
    assert main([*argv, "--items", "85123a,NOPE,P1"]) == 0
    err = capsys.readouterr().err
    assert "2 of 3 products were bought by nobody in --data: '85123a' (did you mean '85123A'?), 'NOPE'" in err
    assert main([*argv, "--items", "85123A,P1"]) == 0
    assert "bought by nobody" not in capsys.readouterr().err


def test_spend_per_customer_counts_everyone_of_each_group(tmp_path, capsys):
    """--amount-col adds the spend per customer in the window: every customer of the group
    counts (0 for those who bought nothing), lines without an amount add nothing."""
    pd.DataFrame({"customer": ["a", "b", "c", "d"], "item": ["P1"] * 4}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["e", "f"], "item": ["P1", "P1"]}).to_csv(tmp_path / "control.csv", index=False)
    events = {
        "user": ["a", "a", "b", "e", "zz", "c"],
        "item": ["P1", "P2", "P3", "P1", "P1", "P4"],
        "amount": [10.0, 5.0, 25.0, 8.0, 100.0, None],
    }
    pd.DataFrame(events).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--amount-col", "amount", "--out", str(tmp_path / "lift.csv")]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    want = rf.campaign.mean_lift([15.0, 25.0, 0.0, 0.0], [8.0, 0.0])
    for column in ("treated", "control", "lift", "low", "high", "p_value"):
        assert table.loc["spend per customer", column] == pytest.approx(want[column], rel=1e-5)
    assert table.loc["bought anything", "treated"] == 0.75  # c's line without an amount still counts
    assert "spend per customer" in capsys.readouterr().out


def test_customer_ids_read_as_floats_match_the_lists(tmp_path, capsys):
    """A Parquet file pandas wrote from a customer column with a gap holds 17850.0: every other
    reader calls that customer 17850, lift called it "17850.0" and matched nobody (0% in both
    groups, and a hint about pseudonyms)."""
    pd.DataFrame({"customer": ["17850", "12346"], "item": ["P1"] * 2}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["13047"], "item": ["P1"]}).to_csv(tmp_path / "control.csv", index=False)
    events = pd.DataFrame({"user": [17850.0, np.nan, 13047.0], "item": ["P1", "P1", "P2"]})
    events.to_parquet(tmp_path / "after.parquet", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.parquet"), "--out", str(tmp_path / "lift.csv")]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    assert table.loc["bought anything", "treated"] == 0.5 and table.loc["bought anything", "control"] == 1.0
    assert table.loc["bought a listed product", "treated"] == 0.5
    assert table.loc["bought a listed product", "control"] == 0.0
    assert "no customer of the events" not in capsys.readouterr().err
    # a text column as --amount-col in Parquet: named, not numpy's "could not convert string"
    assert main([*argv, "--amount-col", "item"]) == 2
    assert "--amount-col must hold numbers" in capsys.readouterr().err


@pytest.mark.parametrize("money", ["amount", "qty*price"])
def test_a_return_is_not_a_conversion_but_nets_the_spend(tmp_path, capsys, money):
    """Online Retail's window after a send holds returns (negative quantities) of earlier
    purchases: customers who only returned something counted as converted (34.65% where 33.51%
    bought; rf.customers never counts a return as a purchase). Its lines have a quantity and a
    unit price, no amount: --amount-col Quantity*UnitPrice."""
    pd.DataFrame({"customer": ["a", "b", "c", "d"], "item": ["P1"] * 4}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["e", "f"], "item": ["P1", "P1"]}).to_csv(tmp_path / "control.csv", index=False)
    events = {
        "user": ["a", "b", "b", "c", "e", "f"],
        "item": ["P1", "P1", "P2", "P1", "P1", "P3"],
        "amount": [10.0, -4.0, 6.0, -10.0, -8.0, 3.0],
    }
    if money != "amount":
        events["qty"] = [5, -1, 3, -2, -4, 1]
        events["price"] = [a / q for a, q in zip(events.pop("amount"), events["qty"])]
    pd.DataFrame(events).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--amount-col", money, "--out", str(tmp_path / "lift.csv")]
    if money != "amount":  # without it, the returns are pointed out: they would count as purchases
        assert main([*argv[:-4], "--out", str(tmp_path / "lift.csv")]) == 0
        err = capsys.readouterr().err
        assert "column qty holds negative numbers" in err and "--amount-col qty (or qty*<price column>)" in err, err
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    # a bought P1; b returned P1 and bought P2; c only returned; e only returned; f bought P3
    assert table.loc["bought anything", "treated"] == 0.5 and table.loc["bought anything", "control"] == 0.5
    assert table.loc["bought a listed product", "treated"] == 0.25  # b's returned P1 is not a purchase of it
    assert table.loc["bought a listed product", "control"] == 0.0
    want = rf.campaign.mean_lift([10.0, 2.0, -10.0, 0.0], [-8.0, 3.0])
    assert table.loc["spend per customer", "treated"] == pytest.approx(want["treated"])
    assert table.loc["spend per customer", "control"] == pytest.approx(want["control"])
    capsys.readouterr()
    pd.DataFrame({**events, "user": ["zz"] * 6}).to_csv(tmp_path / "after.csv", index=False)
    assert main(argv) == 0
    assert "no customer of the events" in capsys.readouterr().err
    returns_only = {"user": ["a", "e"], "item": ["P1", "P1"], "amount": [-1.0, -1.0]}
    if money != "amount":
        returns_only.update(qty=returns_only.pop("amount"), price=[2.0, 2.0])
    pd.DataFrame(returns_only).to_csv(tmp_path / "after.csv", index=False)
    assert main(argv) == 0
    assert "no customer of the events" not in capsys.readouterr().err  # they are customers, who bought nothing


def test_a_view_after_the_send_is_not_a_conversion(tmp_path, capsys):
    """A shop's log after the send holds views and carts beside purchases: read whole, a
    customer who only looked at a listed product counted as having bought it. --event-col
    keeps the purchases (--purchase-events names them) and counts the lines left out."""
    pd.DataFrame({"customer": ["a", "b", "c", "d"], "item": ["P1"] * 4}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": ["e", "f"], "item": ["P1", "P1"]}).to_csv(tmp_path / "control.csv", index=False)
    events = pd.DataFrame(
        {
            "user": ["a", "a", "b", "c", "c", "e", "f"],
            "item": ["P1", "P1", "P1", "P2", "P1", "P1", "P1"],
            "event": ["view", "transaction", "view", "transaction", "addtocart", "view", "transaction"],
        }
    )
    events.to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--out", str(tmp_path / "lift.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "column event holds event types (addtocart, transaction, view)" in err and "--event-col event" in err, err
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    assert table.loc["bought anything", "treated"] == 0.75  # every view counted
    assert main([*argv, "--event-col", "event", "--purchase-events", "transaction"]) == 0
    err = capsys.readouterr().err
    assert "4 of 7 lines are not purchases (view 3, addtocart 1): left out" in err, err
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    assert table.loc["bought anything", "treated"] == 0.5  # a and c bought; b only looked
    assert table.loc["bought a listed product", "treated"] == 0.25  # c put P1 in the cart, bought P2
    assert table.loc["bought anything", "control"] == 0.5 and table.loc["bought a listed product", "control"] == 0.5
    assert main([*argv, "--event-col", "event"]) == 2  # the default, purchase, names no line here
    err = capsys.readouterr().err
    assert "no line is a purchase ('purchase'); its event types are 'transaction' 3, 'view' 3, 'addtocart' 1" in err
    assert err.count("\n") == 1, err


def test_a_customer_in_both_groups_is_refused(tmp_path, capsys):
    pd.DataFrame({"customer": ["a", "b"], "item": ["x", "x"]}).to_csv(tmp_path / "campaign.csv", index=False)
    pd.DataFrame({"customer": ["b"], "item": ["x"]}).to_csv(tmp_path / "control.csv", index=False)
    pd.DataFrame({"user": ["a"], "item": ["x"]}).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "campaign.csv"), "--control", str(tmp_path / "control.csv")]
    assert main([*argv, "--data", str(tmp_path / "after.csv")]) == 2
    assert "1 customers are in both --campaign and --control" in capsys.readouterr().err


def test_a_list_of_nobody_is_refused(tmp_path, capsys):
    """An empty --control (or --campaign) made every rate and the lift NaN, written with exit 0."""
    pd.DataFrame({"customer": ["a", "b"], "item": ["x", "y"]}).to_csv(tmp_path / "sent.csv", index=False)
    pd.DataFrame({"customer": [], "item": []}).to_csv(tmp_path / "control.csv", index=False)
    pd.DataFrame({"user": ["a"], "item": ["x"]}).to_csv(tmp_path / "after.csv", index=False)
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    assert main([*argv, "--data", str(tmp_path / "after.csv"), "--out", str(tmp_path / "lift.csv")]) == 2
    err = capsys.readouterr().err
    assert "--control" in err and "names no customer" in err and err.count("\n") == 1
    assert not (tmp_path / "lift.csv").exists()


def test_pseudonyms_of_a_customer_written_17850_and_17850_0_are_one(tmp_path, capsys, monkeypatch):
    """The campaign pseudonymised the customer 17850 (its events read as one customer however
    the export wrote it); the events after the send, exported with a gap, write "17850.0", and
    lift hashed that text: another pseudonym, and the customer's purchases were nobody's."""
    monkeypatch.setenv("RECFORGE_PSEUDONYM_KEY", KEY)
    key = KEY.encode()
    sent = rf.campaign.pseudonymise(["17850", "12346"], key)
    pd.DataFrame({"customer": sent, "item": ["P1", "P1"]}).to_csv(tmp_path / "sent.csv", index=False)
    held = rf.campaign.pseudonymise(["13047"], key)
    pd.DataFrame({"customer": held, "item": ["P1"]}).to_csv(tmp_path / "control.csv", index=False)
    events = pd.DataFrame({"user": [17850.0, np.nan, 13047.0], "item": ["P1", "P1", "P2"]})
    events.to_csv(tmp_path / "after.csv", index=False)
    assert "17850.0" in (tmp_path / "after.csv").read_text()
    argv = ["lift", "--campaign", str(tmp_path / "sent.csv"), "--control", str(tmp_path / "control.csv")]
    argv += ["--data", str(tmp_path / "after.csv"), "--pseudonymise", "--out", str(tmp_path / "lift.csv")]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "lift.csv").set_index("conversion")
    assert table.loc["bought anything", "treated"] == 0.5 and table.loc["bought anything", "control"] == 1.0
    assert table.loc["bought a listed product", "treated"] == 0.5
