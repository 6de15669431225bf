"""The demo company's landing tables: what each source system sends, how often, and how it varies.

Payload columns are SQL expressions over `i` (the event's index in its table), `kn` (the business
key number) and `ts` (the source event time), evaluated inside DuckDB. Randomness is a hash of
(index, salt, seed), so every value is reproducible from the seed alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

COUNTRIES = ("DE", "FR", "GB", "US", "NL", "ES")
CURRENCIES = ("EUR", "USD", "GBP")
SITES = ("DC-BER", "DC-HAM", "DC-MUC")
COMPANY_NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne")


def rand(salt: str, over: str = "i") -> str:
    """A uniform number in [0, 1) from the hash of (`over`, salt, seed)."""
    return f"((hash({over}, '{salt}', $seed) % 1000000) / 1000000.0)"


def pick(values: tuple[str, ...], salt: str, over: str = "i") -> str:
    """One of `values`, chosen by the hash of (`over`, salt, seed)."""
    items = ", ".join(f"'{v}'" for v in values)
    return f"list_element([{items}], 1 + cast(hash({over}, '{salt}', $seed) % {len(values)} as integer))"


def id_expr(prefix: str, width: int, number: str = "kn") -> str:
    return f"'{prefix}' || lpad(cast({number} as varchar), {width}, '0')"


@dataclass(frozen=True)
class KeySpaces:
    """How many distinct business keys each entity has, derived from `--entities`."""

    customers: int
    products: int
    suppliers: int
    orders: int
    invoices: int

    @classmethod
    def from_entities(cls, entities: int) -> KeySpaces:
        return cls(
            customers=entities,
            products=max(10, entities // 2),
            suppliers=max(5, entities // 20),
            orders=entities * 5,
            invoices=entities * 3,
        )


@dataclass(frozen=True)
class LandingTable:
    """One landing table `landing.<system>__<entity>` and how the simulator fills it."""

    system: str
    entity: str
    domain: str
    key_columns: tuple[str, ...]
    key_space: Callable[[KeySpaces], int]
    key_exprs: dict[str, str]
    payload: dict[str, str]
    weight: float
    batch_minutes: float
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quantity_column: str | None = None
    # Payload columns staging parses as something other than a string: `int`, `money`,
    # `timestamp` or `date` (the types its stage model declares).
    column_types: dict[str, str] = field(default_factory=dict)
    delete_rate: float = 0.02
    # For the `conflict` fault: the column this table shares with another system's table.
    conflict_column: str | None = None
    # Whether the source also delivers full extracts of its current state (entity tables do;
    # pure event streams such as status transitions do not).
    extract: bool = True
    # Whether every valid upsert writes a field another system owns (the helpdesk changing a
    # customer's phone, which CRM owns): each such event is a conflict by construction.
    foreign_writes: bool = False

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key_columns, *self.payload)

    @property
    def number_columns(self) -> tuple[str, ...]:
        return tuple(c for c, kind in self.column_types.items() if kind in ("int", "money"))

    @property
    def redelivery_columns(self) -> tuple[str, ...]:
        """Columns a conflicting redelivery may change without changing the event's validity.

        Enums move to another allowed value and numbers by one; strings (some are foreign
        keys), times and the column another system shares (`conflict_column`) stay as sent.
        """
        return tuple(
            c for c in self.payload
            if c != self.conflict_column
            and (c in self.enums or self.column_types.get(c) in ("int", "money"))
        )


CUSTOMER_ID = id_expr("C", 6)
SKU = id_expr("SKU-", 5)
SUPPLIER_ID = id_expr("SUP-", 4)

CRM_ACCOUNTS = LandingTable(
    system="crm",
    entity="accounts",
    domain="customer",
    key_columns=("account_id",),
    key_space=lambda k: k.customers,
    key_exprs={"account_id": CUSTOMER_ID},
    payload={
        "account_name": pick(COMPANY_NAMES, "nm", "kn")
        + f" || ' ' || cast(kn as varchar) || {pick((' GmbH', ' Ltd', ' Inc', ' SAS'), 'sfx')}",
        "email": "'contact' || cast(hash(i, 'em', $seed) % 50 as varchar)"
        " || '@c' || cast(kn as varchar) || '.example.com'",
        "phone": "'+49 30 ' || lpad(cast(hash(i, 'ph', $seed) % 10000000 as varchar), 7, '0')",
        "country": pick(COUNTRIES, "ctry", "kn"),
        "segment": pick(("enterprise", "mid_market", "smb"), "seg"),
    },
    enums={"segment": ("enterprise", "mid_market", "smb")},
    weight=0.10,
    batch_minutes=10,
    conflict_column="email",
)

ERP_CUSTOMERS = LandingTable(
    system="erp",
    entity="customers",
    domain="customer",
    key_columns=("customer_id",),
    key_space=lambda k: k.customers,
    key_exprs={"customer_id": CUSTOMER_ID},
    payload={
        "credit_status": pick(("good", "good", "good", "on_hold", "blocked"), "cs"),
        "credit_limit": "cast(1000 + (hash(i, 'cl', $seed) % 100) * 500 as varchar)",
        "payment_terms": pick(("net_30", "net_60", "prepaid"), "pt"),
        "billing_country": pick(COUNTRIES, "ctry", "kn"),
        # ERP keeps its own copy of the contact email; CRM owns the field. Normally ERP does not
        # send it; the `conflict` fault makes ERP change it close to a CRM change.
        "email": "cast(null as varchar)",
    },
    enums={
        "credit_status": ("good", "on_hold", "blocked"),
        "payment_terms": ("net_30", "net_60", "prepaid"),
    },
    column_types={"credit_limit": "money"},
    weight=0.08,
    batch_minutes=15,
    conflict_column="email",
)

PIM_PRODUCTS = LandingTable(
    system="pim",
    entity="products",
    domain="product",
    key_columns=("sku",),
    key_space=lambda k: k.products,
    key_exprs={"sku": SKU},
    payload={
        "product_name": f"{pick(('Trail', 'Urban', 'Alpine', 'Coastal', 'Nordic'), 'pn1', 'kn')}"
        f" || ' ' || {pick(('Jacket', 'Boot', 'Pack', 'Lamp', 'Tent', 'Glove'), 'pn2', 'kn')}"
        f" || ' v' || cast(1 + hash(i, 'ver', $seed) % 5 as varchar)",
        "category": pick(("apparel", "footwear", "accessories", "outdoor", "electronics"), "cat", "kn"),
        "lifecycle_status": pick(("draft", "active", "active", "active", "discontinued"), "lc"),
    },
    enums={
        "category": ("apparel", "footwear", "accessories", "outdoor", "electronics"),
        "lifecycle_status": ("draft", "active", "discontinued"),
    },
    weight=0.06,
    batch_minutes=60,
    conflict_column="product_name",
)

ERP_PRODUCTS = LandingTable(
    system="erp",
    entity="products",
    domain="product",
    key_columns=("sku",),
    key_space=lambda k: k.products,
    key_exprs={"sku": SKU},
    payload={
        "list_price": f"cast(round(5 + {rand('pr')} * 495, 2) as varchar)",
        "currency": pick(CURRENCIES, "cur", "kn"),
        # ERP's copy of the product name (PIM owns it); set only by the `conflict` fault.
        "product_name": "cast(null as varchar)",
    },
    enums={"currency": CURRENCIES},
    column_types={"list_price": "money"},
    weight=0.06,
    batch_minutes=60,
    conflict_column="product_name",
)

ERP_SUPPLIERS = LandingTable(
    system="erp",
    entity="suppliers",
    domain="supplier",
    key_columns=("supplier_id",),
    key_space=lambda k: k.suppliers,
    key_exprs={"supplier_id": SUPPLIER_ID},
    payload={
        "supplier_name": f"{pick(('Nordwind', 'Sudhaus', 'Kestrel', 'Baltic', 'Tauern'), 'sn', 'kn')}"
        " || ' Supply ' || cast(kn as varchar)",
        "country": pick(COUNTRIES, "sctry", "kn"),
        "payment_terms": pick(("net_30", "net_60", "prepaid"), "spt"),
    },
    enums={"payment_terms": ("net_30", "net_60", "prepaid")},
    weight=0.02,
    batch_minutes=240,
)

SRM_SUPPLIER_RISK = LandingTable(
    system="srm",
    entity="supplier_risk",
    domain="supplier",
    key_columns=("supplier_id",),
    key_space=lambda k: k.suppliers,
    key_exprs={"supplier_id": SUPPLIER_ID},
    payload={
        "risk_score": "cast(hash(i, 'rs', $seed) % 101 as varchar)",
        "risk_tier": "case when hash(i, 'rs', $seed) % 101 < 40 then 'low'"
        " when hash(i, 'rs', $seed) % 101 < 70 then 'medium'"
        " when hash(i, 'rs', $seed) % 101 < 90 then 'high' else 'critical' end",
    },
    enums={"risk_tier": ("low", "medium", "high", "critical")},
    column_types={"risk_score": "int"},
    weight=0.03,
    batch_minutes=240,
    delete_rate=0.0,
)

WMS_INVENTORY_MOVEMENTS = LandingTable(
    system="wms",
    entity="inventory_movements",
    domain="inventory",
    key_columns=("sku", "site_id"),
    key_space=lambda k: k.products * len(SITES),
    key_exprs={
        "sku": id_expr("SKU-", 5, f"(kn // {len(SITES)})"),
        "site_id": f"list_element({list(SITES)}, 1 + cast(kn % {len(SITES)} as integer))",
    },
    payload={
        "movement_type": pick(("receipt", "pick", "pick", "adjustment", "transfer"), "mt"),
        "movement_qty": "cast(cast(hash(i, 'mq', $seed) % 150 as integer) - 50 as varchar)",
        "quantity_on_hand": "cast(hash(i, 'qoh', $seed) % 1000 as varchar)",
    },
    enums={"movement_type": ("receipt", "pick", "adjustment", "transfer")},
    quantity_column="quantity_on_hand",
    column_types={"movement_qty": "int", "quantity_on_hand": "int"},
    weight=0.23,
    batch_minutes=1,
    delete_rate=0.005,
)

HELPDESK_CONTACTS = LandingTable(
    system="helpdesk",
    entity="contacts",
    domain="customer",
    key_columns=("customer_id",),
    key_space=lambda k: k.customers,
    key_exprs={"customer_id": CUSTOMER_ID},
    payload={
        # Agents update the phone number (CRM owns it; a Hamburg number, so it always differs
        # from CRM's Berlin ones) and record the preferred channel, which the helpdesk owns.
        "phone": "'+49 40 ' || lpad(cast(hash(i, 'hph', $seed) % 10000000 as varchar), 7, '0')",
        "preferred_channel": pick(("email", "phone", "chat"), "pch"),
    },
    enums={"preferred_channel": ("email", "phone", "chat")},
    weight=0.02,
    batch_minutes=30,
    delete_rate=0.0,
    foreign_writes=True,
)

ORDER_STATUSES = ("placed", "allocated", "shipped", "delivered", "cancelled")

OMS_ORDERS = LandingTable(
    system="oms",
    entity="orders",
    domain="order",
    key_columns=("order_id",),
    key_space=lambda k: k.orders,
    key_exprs={"order_id": id_expr("O", 8)},
    payload={
        "customer_id": id_expr("C", 6, "(hash(kn, 'oc', $seed) % $customers)"),
        "order_status": pick(ORDER_STATUSES, "os"),
        "order_total": f"cast(round(10 + {rand('ot', 'kn')} * 1990, 2) as varchar)",
        "currency": pick(CURRENCIES, "ocur", "kn"),
        "ordered_at": "strftime(ts - to_minutes(cast(hash(kn, 'oa', $seed) % 120 as bigint)),"
        " '%Y-%m-%dT%H:%M:%SZ')",
    },
    enums={"order_status": ORDER_STATUSES, "currency": CURRENCIES},
    column_types={"order_total": "money", "ordered_at": "timestamp"},
    weight=0.15,
    batch_minutes=5,
    delete_rate=0.005,
)

OMS_ORDER_STATUS_EVENTS = LandingTable(
    system="oms",
    entity="order_status_events",
    domain="order",
    key_columns=("order_id",),
    key_space=lambda k: k.orders,
    key_exprs={"order_id": id_expr("O", 8)},
    payload={
        "order_status": pick(ORDER_STATUSES, "ose"),
        "status_reason": pick(
            ("payment_captured", "stock_allocated", "carrier_scan", "proof_of_delivery",
             "customer_request"),
            "osr",
        ),
    },
    enums={"order_status": ORDER_STATUSES},
    weight=0.15,
    batch_minutes=5,
    delete_rate=0.0,
    extract=False,
)

ERP_INVOICES = LandingTable(
    system="erp",
    entity="invoices",
    domain="invoice",
    key_columns=("invoice_id",),
    key_space=lambda k: k.invoices,
    key_exprs={"invoice_id": id_expr("INV-", 8)},
    payload={
        "customer_id": id_expr("C", 6, "(hash(kn, 'ic', $seed) % $customers)"),
        "order_id": id_expr("O", 8, "(hash(kn, 'io', $seed) % $orders)"),
        "invoice_status": pick(("open", "open", "paid", "void"), "is"),
        "amount": f"cast(round(10 + {rand('ia', 'kn')} * 4990, 2) as varchar)",
        "currency": pick(CURRENCIES, "icur", "kn"),
        "due_date": "strftime(cast(ts as date) + cast(30 + hash(kn, 'dd', $seed) % 31 as integer),"
        " '%Y-%m-%d')",
    },
    enums={"invoice_status": ("open", "paid", "void"), "currency": CURRENCIES},
    column_types={"amount": "money", "due_date": "date"},
    weight=0.10,
    batch_minutes=360,
    delete_rate=0.005,
)

LANDING_TABLES: tuple[LandingTable, ...] = (
    CRM_ACCOUNTS,
    ERP_CUSTOMERS,
    HELPDESK_CONTACTS,
    PIM_PRODUCTS,
    ERP_PRODUCTS,
    ERP_SUPPLIERS,
    SRM_SUPPLIER_RISK,
    WMS_INVENTORY_MOVEMENTS,
    OMS_ORDERS,
    OMS_ORDER_STATUS_EVENTS,
    ERP_INVOICES,
)

# Conflicting updates: an event in the first table is shadowed, close in time, by an event of
# the second table's system changing the same field of the same key.
CONFLICT_PAIRS: tuple[tuple[LandingTable, LandingTable], ...] = (
    (CRM_ACCOUNTS, ERP_CUSTOMERS),
    (PIM_PRODUCTS, ERP_PRODUCTS),
)

SOURCE_SYSTEMS: tuple[str, ...] = tuple(sorted({t.system for t in LANDING_TABLES}))

METADATA_COLUMNS: tuple[str, ...] = (
    "_event_id",
    "_source_system",
    "_op",
    "_source_event_at",
    "_loaded_at",
    "_sync_batch_id",
)


# ---------------------------------------------------------------------------------------------
# The catalogue of a registry: the tuned tables above where the registry declares them exactly
# so, a generic generator from the declared types and enums for any other landing table.

GENERIC_WEIGHT = 0.05


def _generic_payload(name: str, type_: str, enum: tuple[str, ...] | None) -> str:
    if enum:
        return pick(enum, f"g_{name}")
    if type_ == "int":
        return f"cast(hash(i, 'g_{name}', $seed) % 1000 as varchar)"
    if type_ == "money":
        return f"cast(round(1 + {rand('g_' + name)} * 999, 2) as varchar)"
    if type_ == "timestamp":
        return (f"strftime(ts - to_minutes(cast(hash(i, 'g_{name}', $seed) % 120 as bigint)),"
                " '%Y-%m-%dT%H:%M:%SZ')")
    if type_ == "date":
        return f"strftime(cast(ts as date) + cast(hash(i, 'g_{name}', $seed) % 60 as integer), '%Y-%m-%d')"
    return f"'{name}-' || cast(hash(kn, 'g_{name}', $seed) % 1000 as varchar)"


def _generic_key(index: int, column: str) -> str:
    if index == 0:
        prefix = "".join(ch for ch in column.upper() if ch.isalnum())[:3] or "K"
        return id_expr(f"{prefix}-", 6)
    return f"'{column}-' || cast(hash(kn, 'g_{column}', $seed) % 3 as varchar)"


def tables_for(model) -> tuple[LandingTable, ...]:  # model: governance.registry.model.RegistryModel
    """The landing tables a registry declares, as the simulator fills them: a tuned table of
    the demo where the registry declares it with the same columns, types and enums; otherwise
    a generic one whose values follow the declared types and enums."""
    tuned = {t.name: t for t in LANDING_TABLES}
    out = []
    for lt in model.landing_tables:
        if lt.adapted:
            continue  # a tool lands it (docs/loaders.md), not the simulator
        domain = model.domains[lt.domain]
        key_columns = tuple(lt.landed(k.name) for k in domain.key)
        fields = {lt.landed(f): domain.fields[f] for f in lt.fields}
        enums = {c: tuple(f.enum) for c, f in fields.items() if f.enum}
        types = {c: f.type for c, f in fields.items() if f.type != "string"}
        known = tuned.get(lt.name)
        if (known is not None and known.key_columns == key_columns
                and tuple(known.payload) == tuple(fields) and dict(known.enums) == enums
                and dict(known.column_types) == types and known.domain == lt.domain):
            out.append(known if known.extract == lt.extract else replace(known, extract=lt.extract))
            continue
        slo = model.flow_slo_minutes(model.flows[lt.flow]) or domain.slo_minutes
        out.append(LandingTable(
            system=lt.system, entity=lt.table, domain=lt.domain, key_columns=key_columns,
            key_space=lambda k: k.customers,
            key_exprs={c: _generic_key(i, c) for i, c in enumerate(key_columns)},
            payload={c: _generic_payload(c, f.type, f.enum) for c, f in fields.items()},
            weight=GENERIC_WEIGHT, batch_minutes=float(max(1, min(60, slo // 2))),
            enums=enums, column_types=types,
            quantity_column=next((c for c, f in fields.items() if f.non_negative), None),
            extract=lt.extract,
        ))
    # the demo's tables keep their order (faults pick tables by position), new ones follow
    order = {t.name: i for i, t in enumerate(LANDING_TABLES)}
    return tuple(sorted(out, key=lambda t: order.get(t.name, len(order))))
