"""The shop's nightly analytics job, run on a synthetic snapshot of the shop's data.

It reads reviews, cleans customers, reports on five weeks of orders, plans
picking routes, summarizes a year of sales and counts coin combinations at the
till. All data is generated from a fixed seed, so every run does exactly the
same work and prints exactly the same checksums (and nothing else). This is the
workload perfloop profiles and optimizes:

    python bench.py
"""

import array
import random
import sys
import zlib

from shoplib import graph, numeric, pricing, records, text

SEED = 20240611

SKU_PREFIXES = ["KIT", "BAT", "LMP", "CAB", "MUG", "TOY", "BAG", "PEN", "SOC", "TEA"]
CITIES = ["berlin", "Hamburg", " munich", "Köln", "leipzig ", "Dresden", "bremen", "Essen"]
FIRST_NAMES = ["anna", "Ben", "clara", "David", "emma", "Felix", "greta", "Hugo", "ida", "Jonas"]
LAST_NAMES = ["meyer", "Schulz", "weber", "Fischer", "wagner", "Becker", "hoffmann", "Koch"]
PACKING_STATIONS = [(0, 240), (200, 120), (400, 0), (400, 240)]
STATUSES = [
    "shipped",
    " Shipped",
    "paid",
    "PAID ",
    "packing",
    "cancelled",
    "Refunded",
    "chargeback",
]

REVIEW_OPENERS = [
    "I bought this for my kitchen and",
    "We have used it every day for a month and",
    "After two weeks of use I can say that",
    "My daughter picked this one, and honestly",
    "Compared to the one I had before,",
    "Ordered on Monday, arrived on Wednesday, and",
    "I was not sure at first but",
    "Gave it as a present and",
]
REVIEW_CLAIMS = [
    "the battery lasts much longer than the description says",
    "the handle feels cheap and started to wobble",
    "it is sturdy, quiet and easy to clean",
    "the colour is a bit darker than on the photos",
    "the instructions were confusing but setup took five minutes",
    "it broke after the third wash (!)",
    "the packaging was excessive: plastic, foam, more plastic",
    "delivery was fast and the box was undamaged",
    "it works perfectly with the charger I already had",
    "the lid does not close properly anymore",
    "customer service replied within a day and sent a replacement",
    "for this price I expected better quality",
    "the long-lasting finish still looks new",
    "it's lighter than expected, which I like",
    "don't buy the small size; it's useless for a family",
]
REVIEW_CLOSERS = [
    "Would buy again.",
    "Five stars from me!",
    "Returned it.",
    "Recommended, with minor reservations.",
    "Not worth the money, sadly.",
    "Great value for money.",
    "Check the size chart before ordering.",
    "Works as advertised.",
]


def checksum(value):
    """A short, stable fingerprint of a result."""
    return f"{zlib.crc32(repr(value).encode()):08x}"


def random_prices(rng, count):
    """``count`` prices in cents, uniform between 0.00 and 655.35, drawn in bulk."""
    prices = array.array("H", rng.randbytes(2 * count))
    if sys.byteorder == "big":
        prices.byteswap()
    return prices.tolist()


def make_sku_codes(rng, count):
    """Distinct product codes such as ``KIT-0042``."""
    numbers = rng.sample(range(10000), count)
    return [f"{rng.choice(SKU_PREFIXES)}-{n:04d}" for n in numbers]


def make_reviews(rng, catalog, count):
    """Reviews of 8 to 20 sentences, some of them mentioning product codes."""
    sentences = []
    for _ in range(400):
        sentence = f"{rng.choice(REVIEW_OPENERS)} {rng.choice(REVIEW_CLAIMS)}."
        if rng.random() < 0.3:
            sentence += f" (I also own the {rng.choice(catalog)}.)"
        sentence += " " + rng.choice(REVIEW_CLOSERS)
        sentences.append(sentence)
    return [" ".join(rng.choices(sentences, k=rng.randint(8, 20))) for _ in range(count)]


def make_customers(rng, count):
    """Raw sign-up records with the usual inconsistencies in spacing and case."""
    customers = []
    for customer_id in rng.sample(range(100000, 999999), count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        area = rng.randint(30, 899)
        number = rng.randint(100000, 9999999)
        phone = rng.choice([f"0{area} {number}", f"+49 ({area}) {number}", f"0049-{area}/{number}"])
        customers.append(
            {
                "id": str(customer_id),
                "name": f" {first}  {last}",
                "email": f" {first}.{last}{customer_id % 97}@Example.com ".upper(),
                "phone": phone,
                "city": rng.choice(CITIES),
            }
        )
    return customers


def make_orders(rng, customer_ids, catalog, days, per_day):
    """Raw orders, one list per day."""
    order_days = []
    order_id = 0
    for _ in range(days):
        orders = []
        for _ in range(per_day):
            order_id += 1
            count = rng.randint(1, 8)
            skus = rng.choices(catalog, k=count)
            quantities = rng.choices(range(1, 5), k=count)
            lines = [{"sku": sku, "qty": qty} for sku, qty in zip(skus, quantities, strict=True)]
            orders.append(
                {
                    "order_id": order_id,
                    "customer_id": rng.choice(customer_ids),
                    "status": rng.choice(STATUSES),
                    "lines": lines,
                }
            )
        order_days.append(orders)
    return order_days


def make_stock_bins(rng, bins, catalog):
    """For each product, the bins that hold some of its stock (a quarter to three quarters)."""
    shuffled = bins[:]
    rng.shuffle(shuffled)
    shuffled += shuffled
    stock_bins = {}
    for sku in catalog:
        start = rng.randrange(len(bins))
        stock_bins[sku] = shuffled[start : start + rng.randint(len(bins) // 4, len(bins) * 3 // 4)]
    return stock_bins


def make_sales(rng, skus, stores, days):
    """Units sold per day for each (store, product): level, noise, weekly rhythm, closed days."""
    sales = {}
    for store in stores:
        for sku in skus:
            level = rng.randint(2, 60)
            noise = rng.randbytes(days)
            sales[store, sku] = [
                0 if day % 53 == 11 else level + noise[day] % (level + 1) + (day % 7) * 3
                for day in range(days)
            ]
    return sales


def run_reviews(reviews):
    """Word statistics, sentence counts and product mentions over all reviews."""
    totals = {}
    vocabulary = {}
    skus = []
    token_count = 0
    sentences = 0
    for review in reviews:
        tokens = text.tokenize(review)
        token_count += len(tokens)
        vocabulary.update(text.word_frequencies(tokens))
        sentences += text.sentence_count(review)
        for word, count in text.word_frequencies(text.content_words(tokens)).items():
            totals[word] = totals.get(word, 0) + count
        skus.extend(text.mentioned_skus(review))
    top = text.top_terms(totals, 15)
    print(
        f"reviews    n={len(reviews)} sentences={sentences} tokens={token_count}"
        f" vocabulary={len(vocabulary)} terms={len(totals)}",
        checksum(top),
    )
    print(f"mentions   n={len(skus)}", checksum(skus))


def run_orders(raw_customers, order_days, discontinued):
    """Daily order intake, then a rolling seven-day report of discontinued demand."""
    customers = [records.clean_customer(raw) for raw in raw_customers]
    print(f"customers  n={len(customers)}", checksum(customers))
    open_by_day = []
    unmatched = 0
    for raw_orders in order_days:
        orders = records.open_orders(raw_orders)
        for _order, customer in records.attach_customers(orders, customers):
            if customer is None:
                unmatched += 1
        open_by_day.append(orders)
    weekly = []
    for day in range(6, len(open_by_day)):
        window = [order for orders in open_by_day[day - 6 : day + 1] for order in orders]
        lines = records.all_order_lines(window)
        weekly.append((len(lines), records.discontinued_units(lines, discontinued)))
    open_count = sum(len(orders) for orders in open_by_day)
    print(f"orders     open={open_count} unmatched={unmatched}", checksum(weekly))


def run_picking(orders, floor, positions, stock_bins):
    """Pick each order at its packing station: nearest bins, then the route from the dock."""
    steps = 0
    last_bins = []
    for n, order in enumerate(orders):
        station = PACKING_STATIONS[n % len(PACKING_STATIONS)]
        picks = [
            graph.nearest_location(station, stock_bins[line["sku"]], positions)
            for line in order["lines"]
        ]
        route = graph.shortest_route(floor, "DOCK", picks[-1])
        steps += len(route)
        last_bins.append(route[-1])
    print(f"picking    orders={len(orders)} steps={steps}", checksum(last_bins))


def run_sales(sales, competitor_prices):
    """Selling days and days on target per series; competitor price bands per product."""
    selling = 0
    target_days = []
    for series in sales.values():
        days = numeric.selling_days(series)
        selling += len(days)
        average = sum(days) // len(days)
        for factor in (50, 80, 120, 150):
            target_days.append(numeric.days_meeting_target(series, average * factor // 100))
    bands = [numeric.price_band(prices) for prices in competitor_prices.values()]
    weekly_peak = max(max(numeric.weekly_totals(series)) for series in sales.values())
    print(f"sales      selling_days={selling} weekly_peak={weekly_peak}", checksum(target_days))
    print(f"prices     n={len(bands)}", checksum(bands))


def run_till(amounts):
    """For small amounts: how many coin combinations pay them, and the change handed out."""
    ways = [pricing.ways_to_pay(amount, pricing.EURO_COINS, 0) for amount in amounts]
    change = [pricing.split_into_coins(amount, pricing.EURO_COINS) for amount in amounts]
    print(f"till       n={len(amounts)} ways={sum(ways)}", checksum(change))


def main():
    rng = random.Random(SEED)
    codes = make_sku_codes(rng, 1320)
    catalog, retired = codes[:1200], codes[1200:]
    discontinued = rng.sample(catalog, 30) + retired
    reviews = make_reviews(rng, catalog, 1200)
    raw_customers = make_customers(rng, 2500)
    customer_ids = [int(raw["id"]) for raw in raw_customers]
    order_days = make_orders(rng, customer_ids, catalog, 35, 200)
    floor, positions = graph.build_floor("ABCDEFGHJKLM", 20, (0, 10, 19))
    stock_bins = make_stock_bins(rng, [name for name in positions if name != "DOCK"], catalog)
    sales = make_sales(rng, catalog[:600], ("north", "south", "east", "west", "online"), 365)
    competitor_prices = {sku: random_prices(rng, rng.randint(1000, 2400)) for sku in catalog[:600]}
    till_amounts = [rng.randint(45, 75) for _ in range(30)]

    run_reviews(reviews)
    run_orders(raw_customers, order_days, discontinued)
    run_picking(order_days[0] + order_days[1], floor, positions, stock_bins)
    run_sales(sales, competitor_prices)
    run_till(till_amounts)


if __name__ == "__main__":
    main()
