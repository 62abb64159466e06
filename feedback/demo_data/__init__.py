"""The demo organisation FocusLoop starts with (``manage.py seed_demo``) and benchmarks on.

- ``loading``: writes it — products, customers, analysed feedback in bulk, the rollup.
- ``customers``, ``feedback_rows``, ``timeline``: what to write, as plain data (no ORM),
  the same for a given seed and size.
- ``phrases``: the words it is made of — products, text fragments, people, companies.
"""
