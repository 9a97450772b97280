"""shoplib: the analytics library behind the shop's nightly reports.

Modules:

- ``text``     product reviews: cleaning, tokens, word counts, product codes
- ``graph``    the warehouse floor: shortest walking routes and nearest bins
- ``numeric``  daily sales series: selling days, target days, price bands
- ``records``  customers and orders: cleaning, lookups, order lines
- ``pricing``  coins, change and small combinatorics used at the till
"""

__all__ = ["graph", "numeric", "pricing", "records", "text"]
