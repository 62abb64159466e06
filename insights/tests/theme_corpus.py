"""A synthetic feedback corpus with planted topics, for the theme tests."""

import random

TOPICS = {
    "delivery": [
        "delivery",
        "courier",
        "parcel",
        "package",
        "shipping",
        "arrived",
        "tracking",
        "delayed",
    ],
    "billing": [
        "invoice",
        "charged",
        "refund",
        "payment",
        "billing",
        "card",
        "overcharged",
        "price",
    ],
    "app": ["app", "crashes", "login", "update", "screen", "freezes", "password", "bug"],
    "support": ["support", "agent", "phone", "hold", "chat", "answer", "rude", "waited"],
    "quality": ["fabric", "stitching", "broke", "material", "quality", "torn", "cheap", "durable"],
}
FILLER = [
    "the",
    "my",
    "was",
    "really",
    "again",
    "this",
    "week",
    "very",
    "and",
    "order",
    "it",
    "customer",
    "experience",
    "not",
    "happy",
    "so",
    "today",
    "with",
    "your",
]
TEMPLATES = [
    "{a} {f1} {b} {f2} {c}",
    "{f1} {a} {f2} {b} {f3} {c} {f4}",
    "{a} and {b}, {f1} {c}",
    "{f1} {f2} {a} {b}",
]


def planted_corpus(n_per_topic: int = 40, *, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n_per_topic):
            a, b, c = rng.sample(words, 3)
            f1, f2, f3, f4 = rng.sample(FILLER, 4)
            template = rng.choice(TEMPLATES)
            texts.append(template.format(a=a, b=b, c=c, f1=f1, f2=f2, f3=f3, f4=f4).capitalize())
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]
