"""Money at the till: coin sets and the ways an amount can be paid.

All amounts are integers in cents.
"""

EURO_COINS = (200, 100, 50, 20, 10, 5, 2, 1)


def ways_to_pay(amount, coins, index):
    """How many different coin combinations make exactly ``amount``.

    Only ``coins[index:]`` may be used, each as often as needed; the order in
    which coins are handed over does not matter. ``ways_to_pay(amount, coins, 0)``
    counts the combinations with the whole coin set.
    """
    if amount == 0:
        return 1
    if amount < 0 or index == len(coins):
        return 0
    with_coin = ways_to_pay(amount - coins[index], coins, index)
    without_coin = ways_to_pay(amount, coins, index + 1)
    return with_coin + without_coin


def split_into_coins(amount, coins):
    """Pay ``amount`` greedily with the largest coins first; returns {coin: count}."""
    counts = {}
    for coin in coins:
        if amount >= coin:
            counts[coin] = amount // coin
            amount -= coin * counts[coin]
    return counts
