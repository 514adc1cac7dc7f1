"""``docs/behaviour.md``: every loyalty response with its formula, default, plausible range and
source, written from the parameter declarations themselves (a test keeps the page current:
``python -m sim.behaviour.page > docs/behaviour.md``)."""

from __future__ import annotations

import inspect

from sim.behaviour.params import Assumption, Behaviour, Mechanism, Traits, trait_assumptions

INTRO = """# Member behaviour: the mechanisms, their defaults, ranges and sources

Written from `sim/behaviour/params.py` by `python -m sim.behaviour.page > docs/behaviour.md`;
`tests/test_behaviour_page.py` fails when this page and the code disagree.

## How the pieces fit

**Baseline buying** is a buy-till-you-die model: each member's purchase rate and dropout are
drawn from the BG/NBD distributions (Fader, Hardie & Lee 2005), order values from the
Gamma-Gamma model. With every mechanism below switched off, the simulated purchase counts
match the BG/NBD closed form (`tests/test_world.py`). Dropout follows the member's baseline
purchases (the days their baseline rate has them buy, on the same random numbers), not the
extra or missing purchases the loyalty responses make: a promotion that brings extra orders
does not end lifetimes sooner (nothing in the evidence says it does), and twin runs lose the
same members on the same days.

Those rates were observed under a programme: the **reference programme** (a scenario's
`reference_policy`, default: its control group's policy as the file defines it, without
`--set` or sweep overrides). Every response is measured against it, so the scenario's own
policy reproduces the baseline and a change of policy moves behaviour through these channels:

1. **What a point is worth** (`perceived_value`): the best value per point among the burn
   options the member may use (catalogue face value per point, the cash offset at the tier's
   point value), each discounted hyperbolically by the days until the member's balance reaches
   it at their earning speed, times the member's own valuation (a trait: heterogeneity).
   Point value, catalogue prices and thresholds, earn rates and engagement points all enter.
2. **The reward rate acts like a price** (`reward_rate`): value back per unit spent = points
   per unit (purchase rule with the category mix, per-item rules, tier multiplier, daily cap)
   × the perceived value of a point. Against the reference's rate, a constant-elasticity price
   response to the price cut the rate is felt as (close to the rate itself up to about 20%
   back, saturating above); permanent differences persist, a dated campaign's extra wears off
   as the member's reference adapts.
3. **Share of wallet with headroom** (`share_of_wallet`): the price factor, and every other
   reason the programme gives to buy (goal, halo, deadline), acts on the odds of buying here
   rather than elsewhere, so members already buying most of their category here respond
   little: light and moderate buyers respond more than heavy ones.
4. **Intertemporal substitution** (`substitution`): a third of the purchases a promotion adds
   are borrowed from the following weeks (a post-promotion dip); an announced campaign also
   delays purchases into its first day (a pre-promotion dip).
5. **Goal gradient**, **redemption halo**, **expiry as a deadline** for flexible members: the
   within-programme dynamics of buying.
6. **Redemption** (`redemption`, `expiry_deadline`): stockpiling thresholds, a deadline pull
   rising as the earliest points near expiry and after each reminder; lapsed members rarely
   redeem, so breakage arises from lapse, thresholds and the catalogue's granularity.
7. **Engagement** (`engagement`): each action's daily probability scales with the perceived
   value of what it pays, with diminishing returns, around the member's propensity.
8. **Switching cost** (`switching_cost`): dropout falls with what leaving would forfeit (the
   redeemable value of the balance and the tier's extra earning), not with the raw balance.
9. **Win-back** (`winback`): lapsed members stay lapsed unless a scenario sets a rate (with its
   source); a report names any rate used.

Each parameter below has a default, a plausible range (low, high) that a robustness analysis
varies it over, and its source or the word "assumed". Each mechanism has a switch:
`behaviour.<mechanism>.enabled = false`.
"""


def _table(rows: list[Assumption]) -> list[str]:
    out = ["| parameter | default | plausible range | source |", "|---|---|---|---|"]
    for a in rows:
        name = a.path.rsplit(".", 1)[-1]
        doc = f" {a.doc.splitlines()[0]}" if a.doc else ""
        out.append(f"| `{name}`{doc} | {a.default:g} | {a.low:g} to {a.high:g} | {a.source} |")
    return out


def _doc(cls: type[Mechanism]) -> str:
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    return " ".join(line.strip() for line in lines if line.strip())


def page() -> str:
    """The whole page (markdown)."""
    lines = [INTRO.rstrip(), ""]
    b = Behaviour()
    for name in type(b).model_fields:
        mech = getattr(b, name)
        lines += [f"## `behaviour.{name}`", "", _doc(type(mech)), ""]
        rows = [a for a in b.assumptions() if a.path.startswith(f"behaviour.{name}.")]
        if rows:
            lines += _table(rows)
            lines.append("")
    lines += [
        "## Traits: `population.segments.<name>.traits`",
        "",
        _doc(Traits),
        "",
        *_table(trait_assumptions(Traits(), "traits")),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(page(), end="")
