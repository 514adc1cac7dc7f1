"""The ledger's tables (SQLAlchemy Core). Migrations in ``sim/ledger/migrations`` create and
change them; a test checks that the migrated database matches these definitions.

Conventions: days are day numbers (days since 1970-01-01, :func:`sim.engine.day_number`);
points are integers; money is integer micros (millionths of the currency unit). Rows of
``postings`` and ``events`` are never updated after their transaction commits (an event's
outcome is written in the same transaction that records it); a correction is a new event.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

clock = Table(
    "clock",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("closed_through", Integer, nullable=False),
    Column("open_day", Integer, nullable=True),
    Column("start_day", Integer, nullable=False),
    comment="The ledger's business day: days up to closed_through are closed; open_day, when "
    "set, has been opened (pending released, lots expired) and takes events.",
)

programs = Table(
    "programs",
    metadata,
    Column("grp", String(64), primary_key=True),
    Column("policy_version", Integer, ForeignKey("policy_versions.id"), nullable=False),
    Column("expired_through", Integer, nullable=False),
    Column("value_factor", Float, nullable=False),
    Column("state_version", BigInteger, nullable=False),
    comment="One economy per experiment group: its active policy, expiry progress, dynamic value "
    "level and a counter bumped by every transaction that changes the group's state.",
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("grp", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("effective_day", Integer, nullable=False),
    Column("policy_json", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("applied_at", String(32), nullable=False),
    Column("evidence", Text, nullable=True),
    Column("forced_reason", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("cancelled_at", String(32), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    comment="status: waiting (effective_day not reached), active (the group's policy), retired "
    "(replaced by a later version) or cancelled (withdrawn before it started, with a reason).",
)

accounting_closes = Table(
    "accounting_closes",
    metadata,
    Column("grp", String(64), primary_key=True),
    Column("as_of", Integer, primary_key=True),
    Column("cohort", Integer, primary_key=True),
    Column("allocated", BigInteger, nullable=False),
    Column("issued", BigInteger, nullable=False),
    Column("redeemed", BigInteger, nullable=False),
    Column("expected", Float, nullable=False),
    Column("settled", Boolean, nullable=False),
    Column("estimate", Float, nullable=False),
    comment="Closed accounting periods (IFRS 15): each month cohort's points from sales at the "
    "close, cumulative (allocated revenue in micros, points issued, redeemed, expected); the "
    "next roll forward opens on them.",
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False, unique=True),
    Column("grp", String(64), ForeignKey("programs.grp"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("join_day", Integer, nullable=False),
    Column("birth_month", SmallInteger, nullable=False),
    Column("referrer", Integer, ForeignKey("members.id"), nullable=True),
    Column("tier", String(64), nullable=False),
    Column("tier_open", String(64), nullable=False),
    Column("tier_day", Integer, nullable=False),
    Column("frozen", Boolean, nullable=False),
    Column("debt", BigInteger, nullable=False),
    Column("shortfall", BigInteger, nullable=False),
    Column("streak", Integer, nullable=False),
    Column("last_checkin", Integer, nullable=False),
    Column("last_active", Integer, nullable=False),
    Column("issued", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("redeemed", BigInteger, nullable=False),
    Column("expired", BigInteger, nullable=False),
    Column("reversed", BigInteger, nullable=False),
    Column("donated", BigInteger, nullable=False),
    Column("counters", Text, nullable=False),
    comment="Account balances are the sums of the member's postings (audit checks it); "
    "counters holds caps, streak tasks, qualifying months and one-time rules done, as JSON "
    "keyed by rule id.",
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("client_id", String(200), nullable=False, unique=True),
    Column("body_hash", String(64), nullable=False),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("name", String(128), nullable=False),
    Column("code", BigInteger, nullable=False),
    Column("ref", BigInteger, nullable=False),
    Column("draw", Float, nullable=True),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Index("ix_events_member_day", "member", "day"),
    Index("ix_events_day", "day"),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event", BigInteger, ForeignKey("events.id"), nullable=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("src", SmallInteger, nullable=False),
    Column("dst", SmallInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("policy_version", Integer, ForeignKey("policy_versions.id"), nullable=False),
    Index("ix_postings_member", "member"),
    Index("ix_postings_day", "day"),
    comment="The journal: points move from account src to dst (sim.engine.Account codes).",
)

lots = Table(
    "lots",
    metadata,
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("expires_on", Integer, nullable=True),
    Column("points", BigInteger, nullable=False),
    Index("ix_lots_member", "member"),
    comment="Available points by the last day they are valid (NULL: no dated expiry).",
)

pending = Table(
    "pending",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("release_day", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("ref", BigInteger, nullable=False),
    Index("ix_pending_member", "member"),
)

bids = Table(
    "bids",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("lot", String(64), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("day", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("ix_bids_member", "member"),
)

tier_changes = Table(
    "tier_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("old", String(64), nullable=False),
    Column("new", String(64), nullable=False),
    Index("ix_tier_changes_member", "member"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("days_before", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
)

stock = Table(
    "stock",
    metadata,
    Column("grp", String(64), ForeignKey("programs.grp"), primary_key=True),
    Column("item", String(64), primary_key=True),
    Column("remaining", BigInteger, nullable=False),
    comment="Units left of limited catalogue items (items without a row are unlimited).",
)

gmv_days = Table(
    "gmv_days",
    metadata,
    Column("grp", String(64), ForeignKey("programs.grp"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("micros", BigInteger, nullable=False),
    comment="Members' net purchases per day (the dynamic point value reads the last 30 days).",
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event", BigInteger, ForeignKey("events.id"), nullable=False, unique=True),
    Column("member", Integer, ForeignKey("members.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("item", String(64), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("cost", BigInteger, nullable=False),
    comment="Catalogue redemption orders (one per accepted redeem event).",
)

day_close = Table(
    "day_close",
    metadata,
    Column("grp", String(64), ForeignKey("programs.grp"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("members", Integer, nullable=False),
    Column("pending_points", BigInteger, nullable=False),
    Column("available_points", BigInteger, nullable=False),
    Column("liability", BigInteger, nullable=False),
    Column("value_factor", Float, nullable=False),
    Column("tiers", Text, nullable=False),
    comment="Each group's position at each day's close (liability in micros at each member's "
    "point value; tiers: JSON members per tier), the stock side of `pointsim ledger metrics`.",
)
