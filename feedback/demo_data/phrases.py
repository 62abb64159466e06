"""The words the demo organisation is made of: products, text fragments, people, companies.

Plain data, no ORM. A feedback text is an opener, a clause (a subject with a predicate and
maybe a detail, or a whole clause) and maybe a follow-up sentence; mixed texts join a
positive and a negative clause. Tones: ``positive``, ``neutral``, ``negative`` (``mixed``
is composed from the other two).
Only the praised feature's fragments mention "tracking", and only the emerging problem's
fragments mention crashes, so both stay recognisable in the data.
"""

from __future__ import annotations

ORGANISATION = "Brightway"

# --- Products ----------------------------------------------------------------------------

MOBILE_APP = "mobile-app"
WEB_PORTAL = "web-portal"
PAYMENTS = "payments"
DELIVERY = "delivery-service"
SUPPORT_DESK = "support-desk"

PRODUCTS = (
    # (slug, name, description)
    (MOBILE_APP, "Brightway Mobile App", "The iOS and Android app customers order with."),
    (WEB_PORTAL, "Customer Web Portal", "Accounts, orders and invoices on the web."),
    (PAYMENTS, "Brightway Pay", "Card, wallet and direct-debit payments."),
    (DELIVERY, "Delivery Service", "Courier delivery with live tracking."),
    (SUPPORT_DESK, "Support Desk", "Phone, chat and e-mail support."),
)

PRODUCT_SUBJECTS = {
    MOBILE_APP: (
        "the app",
        "the mobile app",
        "the iPhone app",
        "the Android app",
        "the search in the app",
        "the app's login",
        "the order history in the app",
        "the new app design",
    ),
    WEB_PORTAL: (
        "the web portal",
        "the customer portal",
        "the account page",
        "the invoice download",
        "the portal search",
        "the new portal layout",
        "the order overview on the website",
    ),
    PAYMENTS: (
        "paying by card",
        "the payment page",
        "the refund process",
        "setting up direct debit",
        "Apple Pay",
        "the monthly invoice",
        "checkout on the website",
    ),
    DELIVERY: (
        "the delivery",
        "my last delivery",
        "the courier",
        "booking a delivery slot",
        "the packaging",
        "same-day delivery",
        "the delivery window",
    ),
    SUPPORT_DESK: (
        "the support team",
        "your support desk",
        "the live chat",
        "the help centre",
        "the agent I spoke to",
        "the phone line",
        "the reply to my ticket",
    ),
}

# Predicates for things customers use (apps, portals, payments): any singular subject.
TOOL_PREDICATES = {
    "positive": (
        "works really well",
        "is great",
        "is quick and easy to use",
        "has improved a lot",
        "is excellent",
        "is very helpful",
        "is simple and works perfectly",
        "made my week easier",
        "is exactly what I needed",
        "is a pleasure to use",
        "keeps getting better",
        "is the best I have used",
    ),
    "neutral": (
        "does the job",
        "works as expected",
        "is about what I expected",
        "changed recently",
        "could offer a few more options",
        "is similar to other providers",
        "takes a couple of minutes",
        "needs an extra step compared to before",
    ),
    "negative": (
        "is painfully slow",
        "is confusing",
        "keeps failing",
        "is frustrating",
        "has got worse",
        "is far too complicated and a waste of time",
        "does not work properly, so annoying",
        "wasted my time",
        "is a mess",
        "is disappointing",
        "is a pain to use",
    ),
}

# Predicates for services people deliver (couriers, agents, internal services).
SERVICE_PREDICATES = {
    "positive": (
        "is great",
        "was excellent",
        "was very helpful",
        "has improved a lot",
        "was quick and friendly",
        "keeps getting better",
        "is the best I have had",
        "made my week easier",
    ),
    "neutral": (
        "was about what I expected",
        "changed recently",
        "is similar to other providers",
        "took a couple of days",
        "was as usual",
        "works differently since spring",
    ),
    "negative": (
        "was painfully slow",
        "has got worse",
        "was disappointing",
        "was a mess",
        "wasted my time",
        "was frustrating",
        "is a constant problem",
    ),
}
PRODUCT_PREDICATES = {
    MOBILE_APP: TOOL_PREDICATES,
    WEB_PORTAL: TOOL_PREDICATES,
    PAYMENTS: TOOL_PREDICATES,
    DELIVERY: SERVICE_PREDICATES,
    SUPPORT_DESK: SERVICE_PREDICATES,
}

PRODUCT_CLAUSES = {
    MOBILE_APP: {
        "positive": (
            "the app loads quickly even on the train, love it",
            "reordering my usual basket in the app takes seconds, love it",
            "the app is easy to navigate",
            "dark mode in the app is lovely",
        ),
        "neutral": (
            "I mostly use the app on my tablet",
            "the app asks me to update quite often",
            "I would like a widget for the home screen",
        ),
        "negative": (
            "the app drains my battery",
            "the app logs me out all the time, annoying",
            "the app is stuck on the loading screen sometimes",
            "the search in the app never finds what I type, useless",
        ),
    },
    WEB_PORTAL: {
        "positive": (
            "downloading invoices from the portal is easy now",
            "the new portal layout is clean and friendly",
            "I can find every order in the portal",
        ),
        "neutral": (
            "I use the portal mainly for invoices",
            "the portal looks different since the redesign",
            "it would help to export orders as a spreadsheet",
        ),
        "negative": (
            "the portal times out when I download invoices, a waste of time",
            "I cannot find the order history on the website, confusing",
            "password reset on the portal is broken",
        ),
    },
    PAYMENTS: {
        "positive": (
            "paying is quick and I got my refund in two days",
            "the refund arrived faster than promised, great",
            "Apple Pay makes checkout painless",
        ),
        "neutral": (
            "I pay by direct debit every month",
            "the invoice shows the tax on a separate line",
            "I would like to pay with PayPal too",
        ),
        "negative": (
            "I was charged twice for one order",
            "my refund has been pending for three weeks, not happy",
            "my card payment was declined with an error for no reason",
        ),
    },
    DELIVERY: {
        "positive": (
            "the courier was friendly and right on time",
            "my parcel arrived a day early, great",
            "the packaging was neat and easy to recycle",
        ),
        "neutral": (
            "the parcel arrived in the afternoon",
            "I usually pick the evening delivery window",
            "the courier left the parcel with a neighbour",
        ),
        "negative": (
            "my parcel arrived two days late, disappointing",
            "the box arrived damaged",
            "the courier never rang the bell and took the parcel back, annoying",
        ),
    },
    SUPPORT_DESK: {
        "positive": (
            "the agent solved my problem in one call, thank you",
            "support answered within ten minutes, impressive",
            "the live chat agent was kind and helpful",
        ),
        "neutral": (
            "I spoke to support about my address change",
            "the help centre article covered most of it",
            "support asked me to send a screenshot",
        ),
        "negative": (
            "I waited forty minutes on the phone line",
            "my ticket was closed without an answer, rude",
            "I had to explain my problem three times, painful",
        ),
    },
}

# Optional tail of the clause; tone-free so it fits every clause.
DETAILS = (
    "",
    "",
    "",
    " lately",
    " this month",
    " most of the time",
    " compared to last year",
    " for me and my family",
    " in my experience",
    " again this week",
    " on weekdays",
)

EXTERNAL_OPENERS = (
    "",
    "",
    "",
    "",
    "Hi,",
    "Hello team,",
    "Quick feedback:",
    "Frankly,",
    "Hello there,",
    "I have to say",
    "Just a note:",
    "Overall,",
    "As a customer for three years,",
    "Short version:",
)

CHANNEL_OPENERS = {
    "email": ("Hello,", "Hi team,", "Hello there,", "Hi Brightway team,", ""),
    "interview": ("Interview notes:", "Customer said:", "Key takeaway:", "Quote from the call:"),
    "focus_group": (
        "Focus group note:",
        "One participant said:",
        "Participant quote:",
        "Group consensus:",
    ),
}

FOLLOW_UPS = {
    "positive": (
        "",
        "",
        "Really impressed.",
        "Would recommend it to friends.",
        "Love it.",
        "Keep up the good work!",
        "Thanks a lot.",
        "Great job.",
    ),
    "neutral": (
        "",
        "",
        "",
        "Nothing else to add.",
        "Dark mode would be nice.",
        "Just wanted to let you know.",
        "Maybe something to look at.",
    ),
    "negative": (
        "",
        "",
        "Please fix this, it is a real problem.",
        "Very disappointed.",
        "Poor service.",
        "Considering switching to another provider.",
        "Not acceptable.",
        "I had to call twice, what a waste of time.",
    ),
}

MIXED_JOINERS = (" but ", ", however ", ", although ")

# --- The emerging problem: the app crashes at checkout after an update ---------------------

PROBLEM_PRODUCT = MOBILE_APP
PROBLEM_CLAUSES = (
    "the app crashes at checkout",
    "the app crashes every time I try to pay, so frustrating",
    "the app freezes at the payment step and then closes, terrible",
    "the app crashed twice while I was paying",
    "the app keeps crashing when I tap Pay, really annoying",
    "I cannot finish checkout in the app, it just crashes",
    "checkout in the app is broken",
    "the app closes itself at checkout, useless",
    "the app crashes at the payment step and I lost my whole basket",
)
PROBLEM_DETAILS = (
    " since the last update",
    " after the latest update",
    " since updating to version 5.0",
    " on my iPhone",
    " on Android",
    "",
)
PROBLEM_FOLLOW_UPS = (
    "I had to order on the website instead.",
    "Please fix this, it is really frustrating.",
    "Lost my basket twice, annoying.",
    "Useless until this is fixed.",
    "Very disappointed.",
    "Serious bug, this is unacceptable.",
    "Worst update so far.",
    "",
)

# --- The praised feature: live delivery tracking --------------------------------------------

PRAISED_PRODUCT = DELIVERY
PRAISED_SUBJECTS = (
    "the live delivery tracking",
    "delivery tracking",
    "the tracking map",
    "the tracking page",
)
PRAISED_PREDICATES = (
    "is brilliant",
    "is great, I always know when the driver arrives",
    "is super accurate and easy to follow",
    "is excellent",
    "is the best feature you have",
    "made waiting for my parcel so much easier",
    "is really helpful",
)
PRAISED_NEUTRAL_PREDICATES = (
    "showed the driver two streets away",
    "refreshes every few minutes",
)
PRAISED_FOLLOW_UPS = (
    "",
    "Love it.",
    "Great job.",
    "Would recommend it to friends.",
    "Thanks!",
)

# --- Internal customers: other departments about internal services --------------------------

DEPARTMENTS = (
    "Finance",
    "Human Resources",
    "IT",
    "Sales",
    "Marketing",
    "Operations",
    "Customer Service",
    "Legal",
    "Procurement",
    "Logistics",
    "Product",
    "Facilities",
)
SITES = ("Head office", "Warehouse North", "Warehouse South", "Remote", "Call centre")

INTERNAL_SUBJECTS = (
    "the IT helpdesk",
    "payroll",
    "the onboarding process",
    "the expense tool",
    "the VPN",
    "the intranet",
    "the laptop rollout",
    "the travel booking tool",
    "the HR portal",
    "procurement approval",
    "the canteen",
    "the meeting room booking",
)
INTERNAL_CLAUSES = {
    "positive": (
        "IT fixed my laptop within an hour, great",
        "payroll answered my question the same day",
        "onboarding for our new hire went smoothly, thanks",
        "the new expense tool saves me a lot of time",
    ),
    "neutral": (
        "the IT ticket form has a lot of fields",
        "we moved to the new HR portal last month",
        "our team books rooms through the intranet",
    ),
    "negative": (
        "my expense claim has been pending for three weeks, ridiculous",
        "the VPN drops every afternoon, frustrating",
        "payroll got my overtime wrong again",
        "our new starter had no laptop on day one, embarrassing",
    ),
}
INTERNAL_OPENERS = ("", "", "", "Hi,", "From our team:", "Quick one:", "Internal feedback:")

# --- People and companies ---------------------------------------------------------------

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elif", "Farah", "George", "Hana", "Ivan", "Julia",
    "Kofi", "Lena", "Mateo", "Nina", "Omar", "Priya", "Quentin", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "William", "Xenia", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego",
    "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah",
    "Olivia", "Pavel", "Ravi", "Sofia", "Tom", "Uma", "Viktor", "Wen", "Yara", "Zara",
)  # fmt: skip
LAST_NAMES = (
    "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt",
    "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Andersson", "Brown",
    "Chen", "Novak", "Silva", "Khan", "Murphy", "Nielsen", "Santos", "Larsen", "Kim",
)  # fmt: skip
COMPANY_PREFIXES = (
    "Acme", "Blue Harbor", "Northwind", "Silverline", "Greenfield", "Bright Oak", "Nova",
    "Pioneer", "Summit", "Crescent", "Granite", "Maple", "Vertex", "Riverside", "Polar",
)  # fmt: skip
COMPANY_NOUNS = (
    "Logistics", "Foods", "Retail", "Health", "Labs", "Studio", "Systems", "Partners",
    "Outfitters", "Motors", "Pharma", "Media", "Energy", "Hotels",
)  # fmt: skip
COMPANY_SUFFIXES = ("Ltd", "GmbH", "Inc.", "AB", "B.V.", "")
PERSONAL_MAIL_DOMAINS = ("mail.example", "inbox.example", "post.example")
REGIONS = ("EMEA", "North America", "APAC", "LATAM")
