"""A policy in plain words: the member's three sentences, every rule, and the difference of two.

Pure functions from a :class:`~sim.policy.model.Policy` to text; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Final

from pydantic import JsonValue

from sim.policy.base import Caps
from sim.policy.burn import Burn, CatalogueItem
from sim.policy.control import Campaign, Expiry
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    EarnRule,
    InvestmentRule,
    MentorShareRule,
    OneTimeRule,
    PerItemRule,
    PurchaseRule,
    ReferralRule,
    TaskRule,
)
from sim.policy.model import Policy

__all__ = ["describe", "three_sentences"]


# --- small formatters -----------------------------------------------------------------------


def _num(value: float) -> str:
    """A number for people: thousands separated, no trailing zeros, never scientific."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.9f}".rstrip("0").rstrip(".")


def _pct(share: float) -> str:
    return f"{_num(round(share * 100, 9))}%"


def _pts(n: float) -> str:
    return f"{_num(n)} point" if n == 1 else f"{_num(n)} points"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n:,} days"


def _and(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _money(value: float, currency: str) -> str:
    return f"{_num(value)} {currency}"


def _day_month(month: int, day: int) -> str:
    return f"{day} {dt.date(2001, month, 1):%B}"


_ROUNDING: Final = {
    "floor": "rounded down",
    "round": "rounded to the nearest point",
    "ceil": "rounded up",
}
_ACTION_NOUN: Final = {
    "purchase": "purchase",
    "checkin": "check-in",
    "share": "share",
    "review": "review",
    "login": "login",
    "course": "course completed",
    "profile": "profile completed",
    "survey": "survey answered",
}
_TRIGGER: Final = {
    "profile": "completing the profile",
    "first_purchase": "the first purchase",
    "survey": "answering a survey",
    "course": "completing a course",
}
_STAGE: Final = {
    "signup": "when the friend signs up",
    "verified": "when the friend passes identity verification",
    "first_purchase": "when the friend makes a first purchase",
}
_STACKING: Final = {
    "multiply": "their multipliers are multiplied together",
    "max": "only the largest multiplier applies",
    "add": "their extra multipliers add up (2x and 3x make 4x)",
}


def _rate(points_per_unit: float, currency: str, verb: str) -> str:
    """``1 point per CNY spent`` or ``1 point per 1,000 CNY invested``."""
    if points_per_unit < 1:
        units = 1 / points_per_unit
        if abs(units - round(units)) < 1e-9:
            return f"1 point per {_money(round(units), currency)} {verb}"
    return f"{_pts(points_per_unit)} per {currency} {verb}"


def _caps(caps: Caps) -> str:
    parts = []
    if caps.daily is not None:
        parts.append(f"{_pts(caps.daily)} a day")
    if caps.monthly is not None:
        parts.append(f"{_pts(caps.monthly)} a month")
    return f"at most {_and(parts)}" if parts else "no limit"


# --- the three sentences ----------------------------------------------------------------------


def _earn_sentence(policy: Policy) -> str:
    cur = policy.program.currency
    rules = policy.ordered_earn()
    purchase = next((r for _, r in rules if isinstance(r, PurchaseRule)), None)
    invest = next((r for _, r in rules if isinstance(r, InvestmentRule)), None)
    per_item = [r for _, r in rules if isinstance(r, PerItemRule)]
    if purchase is not None:
        ppu = purchase.points_per_unit
        if ppu < 1 and abs(1 / ppu - round(1 / ppu)) < 1e-9:
            text = f"Spend {_money(round(1 / ppu), cur)}, earn 1 point"
        else:
            text = f"Spend 1 {cur}, earn {_pts(ppu)}"
    elif invest is not None:
        ppu = invest.points_per_unit
        if ppu < 1 and abs(1 / ppu - round(1 / ppu)) < 1e-9:
            text = f"Invest {_money(round(1 / ppu), cur)}, earn 1 point"
        else:
            text = f"Invest 1 {cur}, earn {_pts(ppu)}"
        text += " when the investment matures"
    elif rules:
        ways = [_short(rule) for _, rule in rules[:3]]
        more = " and more" if len(rules) > 3 else ""
        text = f"Earn points for {_and(ways)}{more}"
    else:
        return "There is no way to earn points."
    for rule in per_item:
        where = f" of {_and(list(rule.categories))}" if rule.categories else ""
        text += f", plus {_pts(rule.points_per_item)} per item{where}"
    mults = [(name, t.multiplier) for name, t in policy.tiers.items() if t.multiplier != 1]
    if mults and any(r.boostable for _, r in rules):
        (first, m), rest = mults[0], mults[1:]
        parts = [f"{first} earns {_num(m)}x", *(f"{n} {_num(x)}x" for n, x in rest)]
        text += "; " + ", ".join(parts)
    return text + "."


def _short(rule: EarnRule) -> str:
    """A few words naming how a rule pays, for the first sentence."""
    if isinstance(rule, CheckinRule):
        return "daily check-ins"
    if isinstance(rule, ActionRule):
        return f"each {_ACTION_NOUN[rule.action]} ({_pts(rule.points)})"
    if isinstance(rule, OneTimeRule):
        return f"{_TRIGGER[rule.trigger]} ({_pts(rule.points)})"
    if isinstance(rule, ReferralRule):
        return "inviting friends"
    if isinstance(rule, TaskRule):
        return "tasks"
    if isinstance(rule, MentorShareRule):
        return "a share of your referrals' points"
    return rule.kind.replace("_", " ")


def _burn_sentence(policy: Policy) -> str:
    burn = policy.burn
    cur = policy.program.currency
    ways = []
    offset = burn.cash_offset
    if offset is not None and offset.enabled:
        limit = f", up to {_pct(offset.max_share)} of an order" if offset.max_share < 1 else ""
        value = _money(policy.program.point_value, cur)
        ways.append(f"as cash at checkout (1 point = {value}{limit})")
    items = [i for i in burn.catalogue.values() if i.enabled]
    if items:
        ways.append(f"in the catalogue (from {_pts(min(i.points for i in items))})")
    if burn.lottery is not None:
        ways.append(f"on the prize wheel ({_pts(burn.lottery.cost_points)} a spin)")
    if burn.auction:
        ways.append("in auctions")
    if burn.donation is not None and burn.donation.enabled:
        ways.append("as a donation")
    if not ways:
        return "Points cannot be spent."
    text = "Use points " + (", ".join(ways[:-1]) + " or " + ways[-1] if len(ways) > 1 else ways[0])
    if burn.points_day is not None and items:
        day = _ordinal(burn.points_day.day_of_month)
        off = _pct(1 - burn.points_day.price_factor)
        text += f"; on the {day} of every month catalogue rewards are {off} off"
    return text + "."


def _expiry_phrase(expiry: Expiry) -> str:
    if expiry.mode == "never":
        return "never expire"
    if expiry.mode == "rolling":
        text = f"expire {expiry.months} months after you earn them"
        end = {
            "day": "",
            "month_end": ", at the end of the month",
            "quarter_end": ", at the end of the quarter",
            "year_end": ", at the end of the year",
        }[expiry.rounding]
        return text + end
    if expiry.mode == "fixed_date":
        when = _day_month(expiry.fixed_month, expiry.fixed_day)
        if expiry.years == 1:
            return f"expire on {when} of the year after the one you earn them in"
        return f"expire on {when}, {expiry.years} years after the year you earn them in"
    return f"expire after {_days(expiry.inactivity_days)} without any activity"


def _keep_sentence(policy: Policy) -> str:
    expiry = policy.expiry
    text = "Points " + _expiry_phrase(expiry)
    if expiry.mode != "never" and expiry.first_expiry is not None:
        text += f" (none before {expiry.first_expiry.isoformat()})"
    if policy.interest is not None:
        text += f"; your balance earns {_pct(policy.interest.monthly_rate)} interest a month"
    return text + "."


def three_sentences(policy: Policy) -> list[str]:
    """What a member needs to know, in three sentences: how to earn, how to spend, how long
    points last (the source article's "3-sentence rule")."""
    return [_earn_sentence(policy), _burn_sentence(policy), _keep_sentence(policy)]


# --- the full description ---------------------------------------------------------------------


def _rule_main(rule: EarnRule, currency: str) -> str:
    if isinstance(rule, PurchaseRule):
        text = f"{_rate(rule.points_per_unit, currency, 'spent')}, {_ROUNDING[rule.rounding]}"
        if rule.min_amount > 0:
            text += f", on orders of at least {_money(rule.min_amount, currency)}"
        if rule.category_multipliers:
            cats = [f"{c} {_num(m)}x" for c, m in rule.category_multipliers.items()]
            text += f"; category multipliers: {', '.join(cats)}"
        return text
    if isinstance(rule, PerItemRule):
        where = f" in {_and(list(rule.categories))}" if rule.categories else ""
        return f"{_pts(rule.points_per_item)} per item bought{where}"
    if isinstance(rule, CheckinRule):
        n = len(rule.streak_points)
        table = ", ".join(_num(p) for p in rule.streak_points)
        after = (
            f"after day {n} the table starts again"
            if rule.after_table == "restart"
            else f"after day {n} every day pays {_pts(rule.streak_points[-1])}"
        )
        text = f"daily check-in, streak days 1-{n} pay {table}; {after}"
        if rule.bonus_day is not None:
            text += f"; day {rule.bonus_day} of a streak pays a bonus of {_pts(rule.bonus_points)}"
        return text + "; a missed day resets the streak"
    if isinstance(rule, ActionRule):
        return f"{_pts(rule.points)} per {_ACTION_NOUN[rule.action]}"
    if isinstance(rule, OneTimeRule):
        return f"{_pts(rule.points)} once per member, for {_TRIGGER[rule.trigger]}"
    if isinstance(rule, ReferralRule):
        pays = [
            f"{_pts(n)} to the {who}"
            for n, who in ((rule.referrer_points, "referrer"), (rule.referee_points, "new member"))
            if n
        ]
        return f"referral, paid {_STAGE[rule.stage]}: {_and(pays)}"
    if isinstance(rule, TaskRule):
        action = _ACTION_NOUN[rule.action]
        if rule.task == "count":
            times = "once" if rule.count == 1 else f"{rule.count} times"
            goal = f"{action} {times} in a {rule.period}"
        elif rule.task == "spend":
            goal = f"spend {_money(rule.spend, currency)} in a {rule.period}"
        else:
            goal = f"{action} on {rule.days} consecutive days"
        return f"task: {goal} pays {_pts(rule.points)}"
    if isinstance(rule, InvestmentRule):
        return (
            f"{_rate(rule.points_per_unit, currency, 'invested')}, {_ROUNDING[rule.rounding]}, "
            "issued when the investment matures"
        )
    how_long = f"for {_days(rule.days)} after they join" if rule.days is not None else "for ever"
    return (
        f"the referrer (mentor) receives {_pct(rule.share)} of the points a referred member earns "
        f"from {_and(list(rule.rules))}, {how_long}"
    )


def _rule_terms(rule: EarnRule) -> str:
    terms = [f"channel {rule.channel}", f"priority {rule.priority}"]
    terms.append(
        "boosted by tier, birthday and campaign multipliers"
        if rule.boostable
        else "not boosted by multipliers (campaigns naming it still apply)"
    )
    terms.append("tier-qualifying" if rule.qualifying else "not tier-qualifying")
    terms.append(
        "counts towards the overall caps" if rule.overall_cap else "outside the overall caps"
    )
    terms.append(f"own cap: {_caps(rule.caps)}")
    if rule.delay_days:
        terms.append(f"pending for {_days(rule.delay_days)} before available")
    else:
        terms.append("available at once")
    return "; ".join(terms)


def _earn_lines(policy: Policy) -> list[str]:
    cur = policy.program.currency
    lines = ["Earn (in the order applied)"]
    for i, (rule_id, rule) in enumerate(policy.ordered_earn(), 1):
        lines.append(f"  {i}. {rule_id} [{rule.kind}]: {_rule_main(rule, cur)}.")
        lines.append(f"     {_rule_terms(rule)}.")
    off = [f"{k} [{r.kind}]" for k, r in policy.earn.items() if not r.enabled]
    if off:
        lines.append(f"  Disabled: {', '.join(off)}.")
    if len(lines) == 1:
        lines.append("  No earn rules.")
    return lines


def _campaign_line(camp: Campaign) -> str:
    effect = []
    if camp.multiplier != 1:
        effect.append(f"{_num(camp.multiplier)}x points")
    if camp.bonus:
        effect.append(f"a bonus of {_pts(camp.bonus)} per qualifying event")
    on = f"on {_and(list(camp.rules))}" if camp.rules else "on every boostable rule"
    if camp.start and camp.end:
        window = f"from {camp.start.isoformat()} to {camp.end.isoformat()}"
    elif camp.start:
        window = f"from {camp.start.isoformat()}"
    elif camp.end:
        window = f"until {camp.end.isoformat()}"
    else:
        window = "always"
    if camp.yearly:
        window += ", repeated every year"
    audience = []
    if camp.groups:
        audience.append(f"groups {', '.join(camp.groups)}")
    if camp.tiers:
        audience.append(f"tiers {', '.join(camp.tiers)}")
    if camp.max_days_since_join is not None:
        audience.append(f"members in their first {_days(camp.max_days_since_join)} after joining")
    if camp.birthday_month:
        audience.append("members in their birthday month")
    who = "; ".join(audience) if audience else "every member"
    return f"{_and(effect)} {on}; {window}; for {who}; priority {camp.priority}"


def _campaign_lines(policy: Policy) -> list[str]:
    lines = ["Campaigns (in the order applied)"]
    for i, (camp_id, camp) in enumerate(policy.ordered_campaigns(), 1):
        lines.append(f"  {i}. {camp_id}: {_campaign_line(camp)}.")
    off = [k for k, c in policy.campaigns.items() if not c.enabled]
    if off:
        lines.append(f"  Disabled: {', '.join(off)}.")
    if len(lines) == 1:
        lines.append("  No campaigns.")
    else:
        stacking = policy.program.campaign_stacking
        lines.append(
            f"  When several campaigns boost the same points, {_STACKING[stacking]} ({stacking})."
        )
    return lines


def _cap_lines(policy: Policy) -> list[str]:
    lines = ["Caps (per member)", f"  Overall: {_caps(policy.caps)}."]
    for rule_id, rule in policy.earn.items():
        if rule.caps.daily is not None or rule.caps.monthly is not None:
            lines.append(f"  {rule_id}: {_caps(rule.caps)}.")
    outside = [k for k, r in policy.earn.items() if not r.overall_cap]
    if outside:
        lines.append(f"  Not counted towards the overall caps: {', '.join(outside)}.")
    return lines


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def _catalogue_lines(burn: Burn, currency: str) -> list[str]:
    def row(item_id: str, item: CatalogueItem) -> list[str]:
        face = item.cash_cost if item.face_value is None else item.face_value
        face_text = _num(face) + ("" if item.face_value is not None else " (=cost)")
        return [
            _num(item.points),
            item_id + ("" if item.enabled else " (disabled)"),
            item.name,
            item.kind,
            item.category,
            _num(item.cash_cost),
            face_text,
            f"{face / item.points:.4f}",
            "unlimited" if item.stock is None else _num(item.stock),
            item.min_tier or "-",
        ]

    items = sorted(burn.catalogue.items(), key=lambda kv: (kv[1].points, kv[0]))
    headers = [
        "points",
        "item",
        "name",
        "kind",
        "category",
        f"cost {currency}",
        f"face {currency}",
        "face/pt",
        "stock",
        "min tier",
    ]
    table = _table(headers, [row(k, v) for k, v in items], right={0, 5, 6, 7, 8})
    return ["  Catalogue (by price):", *(f"    {line}" for line in table)]


def _burn_lines(policy: Policy) -> list[str]:
    burn = policy.burn
    cur = policy.program.currency
    lines = ["Burn"]
    offset = burn.cash_offset
    if offset is None:
        lines.append("  Cash offset: none.")
    else:
        state = "" if offset.enabled else " (disabled)"
        lines.append(
            f"  Cash offset at checkout{state}: each point is worth the member's point value, "
            f"at most {_pct(offset.max_share)} of an order, at least {_pts(offset.min_points)}, "
            f"in steps of {_pts(offset.step)}."
        )
    if burn.catalogue:
        lines += _catalogue_lines(burn, cur)
    else:
        lines.append("  Catalogue: empty.")
    if burn.points_day is not None:
        pd = burn.points_day
        lines.append(
            f"  Points day: on the {_ordinal(pd.day_of_month)} of every month catalogue "
            f"redemptions cost {_pct(pd.price_factor)} of their price."
        )
    if burn.lottery is not None:
        lot = burn.lottery
        prizes = [
            f"{p.name} {_pct(p.probability)} "
            f"({_pts(p.points)} back, costs {_money(p.cash_cost, cur)})"
            for p in lot.prizes
        ]
        nothing = 1 - sum(p.probability for p in lot.prizes)
        lines.append(
            f"  Lottery: {_pts(lot.cost_points)} a spin; prizes: {'; '.join(prizes)}; "
            f"nothing {_pct(max(nothing, 0.0))}."
        )
    for lot_id, lot_ in burn.auction.items():
        name = f" ({lot_.name})" if lot_.name else ""
        lines.append(
            f"  Auction {lot_id}{name}: {lot_.quantity} unit(s), sealed first-price bids from "
            f"{_pts(lot_.reserve_points)}, costs {_money(lot_.cash_cost, cur)} each, bids close on "
            f"the {_ordinal(lot_.close_day_of_month)} of each month."
        )
    if burn.donation is not None:
        don = burn.donation
        state = "" if don.enabled else " (disabled)"
        pays = (
            "the member's point value"
            if don.cash_per_point is None
            else _money(don.cash_per_point, cur)
        )
        lines.append(
            f"  Donation{state}: at least {_pts(don.min_points)}; the programme pays the cause "
            f"{pays} per point."
        )
    return lines


def _value_lines(policy: Policy) -> list[str]:
    cur = policy.program.currency
    lines = ["Value", f"  1 point = {_money(policy.program.point_value, cur)} (the anchor)."]
    if any(t.point_value is not None for t in policy.tiers.values()):
        by_tier = [f"{name} {_num(policy.tier_value(name))}" for name in policy.tiers]
        lines.append(f"  By tier ({cur} per point): {', '.join(by_tier)}.")
    else:
        lines.append("  The same for every tier.")
    dyn = policy.dynamic_value
    if dyn is None:
        lines.append("  Dynamic value: off.")
    else:
        lines.append(
            f"  Dynamic value: each day outstanding liability is above {_num(dyn.threshold)}x "
            f"the last 30 days' GMV the value falls by {_pct(dyn.step)}, down to "
            f"{_pct(dyn.floor)} of the anchor; each day it is below {_num(dyn.recover_below)}x "
            "it rises again by the same step."
        )
    rate = policy.interest
    if rate is None:
        lines.append("  Interest: none.")
    else:
        limit = "" if rate.max_points is None else f", at most {_pts(rate.max_points)} a month"
        lines.append(
            f"  Interest: {_pct(rate.monthly_rate)} a month on available balances of at least "
            f"{_pts(rate.min_balance)}{limit}, paid as new points on the last day of the month."
        )
    return lines


def _tier_lines(policy: Policy) -> list[str]:
    cur = policy.program.currency
    t = policy.tiering
    measure = "tier-qualifying points earned" if t.measure == "points" else f"spend ({cur})"
    upgrade = "as soon as a threshold is reached" if t.upgrade == "immediate" else "at a review"
    downgrade = {
        "none": "never",
        "one_step": "one tier at a time at a review",
        "recompute": "to whatever tier the window supports at a review",
    }[t.downgrade]
    lines = [
        "Tiers",
        f"  Qualified by {measure} over the last {t.window_months} months; "
        f"{t.review} reviews; upgrade {upgrade}; downgrade {downgrade}.",
    ]
    unit = "points" if t.measure == "points" else cur
    for name, tier in policy.tiers.items():
        extras = [
            f"from {_num(tier.threshold)} {unit}",
            f"earns {_num(tier.multiplier)}x",
            f"1 point = {_money(policy.tier_value(name), cur)}",
            f"birthday month {_num(tier.birthday_multiplier)}x",
        ]
        if tier.monthly_pack_cost:
            extras.append(f"monthly coupon pack costing {_money(tier.monthly_pack_cost, cur)}")
        lines.append(f"  {name}: {'; '.join(extras)}.")
    exclusive = [f"{k} ({i.min_tier})" for k, i in policy.burn.catalogue.items() if i.min_tier]
    if exclusive:
        lines.append(f"  Tier-only items: {', '.join(exclusive)}.")
    return lines


def _expiry_lines(policy: Policy) -> list[str]:
    e = policy.expiry
    text = f"  Points {_expiry_phrase(e)} ({e.mode}"
    if e.mode == "rolling":
        text += f", rounded to {e.rounding}"
    text += ")."
    lines = ["Expiry", text]
    if e.first_expiry is not None:
        lines.append(f"  No points expire before {e.first_expiry.isoformat()}.")
    if e.reminders:
        days = _and([str(d) for d in e.reminders])
        lines.append(f"  Reminders {days} days before points expire.")
    else:
        lines.append("  No expiry reminders.")
    return lines


def _control_lines(policy: Policy) -> list[str]:
    cur = policy.program.currency
    cost = policy.cost
    freeze = (
        "a frozen member can neither redeem nor earn"
        if policy.freeze.blocks_earn
        else "a frozen member cannot redeem but still earns"
    )
    refunds = {
        "cap_at_balance": "takes back the order's points, at most the balance; "
        "the shortfall is recorded",
        "allow_negative": "takes back the order's points even if the balance goes negative",
    }[policy.refunds.clawback]
    transfer = "may" if policy.program.transferable else "may not"
    return [
        "Control",
        f"  Freeze: an operator can freeze a member; {freeze}.",
        f"  Refunds: a refund {refunds} ({policy.refunds.clawback}).",
        f"  Transfers: members {transfer} transfer points to each other.",
        f"  Experiment groups: {', '.join(policy.program.groups)}.",
        f"  Cost model: {_money(cost.per_point_issued, cur)} per point issued, "
        f"{_money(cost.per_point_burned, cur)} per point burned; margin on extra sales "
        f"{_pct(cost.margin_rate)} of GMV.",
        _accounting(policy.accounting.expected_redemption),
    ]


def _accounting(share: float | None) -> str:
    if share is None:
        return (
            "  Accounting: the share of the points a sale issues expected to be redeemed (their "
            "stand-alone price when the sale is split, IFRS 15) is estimated each month from "
            "the programme's own redemptions (chain ladder), 100% until a year of history "
            "supports an estimate."
        )
    return (
        f"  Accounting: {_pct(share)} of the points a sale issues are expected to be redeemed "
        "(their stand-alone price when the sale is split, IFRS 15)."
    )


def _json_text(value: JsonValue) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _num(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _meta_lines(meta: Mapping[str, JsonValue], indent: str = "  ") -> list[str]:
    lines = []
    for key, value in meta.items():
        if isinstance(value, dict):
            title = "Reported outcomes" if key == "reported" else key
            lines.append(f"{indent}{title}:")
            lines += _meta_lines(value, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {_json_text(value)}")
    return lines


def describe(policy: Policy) -> str:
    """Every rule of ``policy`` in plain words, grouped, then its notes and reported outcomes."""
    p = policy.program
    title = f"{p.title} ({p.name})" if p.title else p.name
    sections = [
        [title, f"  Currency {p.currency}; 1 point = {_money(p.point_value, p.currency)}."],
        _earn_lines(policy),
        _campaign_lines(policy),
        _cap_lines(policy),
        _burn_lines(policy),
        _value_lines(policy),
        _tier_lines(policy),
        _expiry_lines(policy),
        _control_lines(policy),
    ]
    if policy.meta:
        sections.append(["Notes", *_meta_lines(policy.meta)])
    return "\n\n".join("\n".join(s) for s in sections) + "\n"
