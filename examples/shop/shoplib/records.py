"""Cleaning and joining customer and order records exported from the web shop.

Raw records arrive as dicts with the fields as typed by customers or by the
shop front-end. Orders are dicts::

    {"order_id": 17, "customer_id": 1042, "status": " Shipped",
     "lines": [{"sku": "KIT-0042", "qty": 2}, ...]}
"""

import re


class Customer:
    """A cleaned customer record."""

    def __init__(self, customer_id, name, email, phone, city):
        self.customer_id = customer_id
        self.name = name
        self.email = email
        self.phone = phone
        self.city = city

    def __eq__(self, other):
        if not isinstance(other, Customer):
            return NotImplemented
        return (
            self.customer_id == other.customer_id
            and self.name == other.name
            and self.email == other.email
            and self.phone == other.phone
            and self.city == other.city
        )

    def __hash__(self):
        return hash(self.customer_id)

    def __repr__(self):
        return (
            f"Customer({self.customer_id!r}, {self.name!r}, {self.email!r}, "
            f"{self.phone!r}, {self.city!r})"
        )


def normalize_phone(raw):
    """A phone number in international form (``+4930123456``).

    Spaces, dashes, slashes and brackets are dropped; a leading ``00`` becomes
    ``+`` and a leading single ``0`` is read as a German number.
    """
    digits = re.sub(r"[^0-9+]", "", raw)
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+49" + digits[1:]
    return "+" + digits


def clean_customer(raw):
    """A Customer from a raw sign-up record."""
    return Customer(
        int(raw["id"]),
        " ".join(raw["name"].split()).title(),
        raw["email"].strip().lower(),
        normalize_phone(raw["phone"]),
        raw["city"].strip().title(),
    )


def open_orders(raw_orders):
    """The orders that still count for fulfilment, with their status cleaned up."""
    kept = []
    for order in raw_orders:
        status = order["status"].strip().lower()
        if status == "cancelled" or status == "refunded" or status == "chargeback":
            continue
        kept.append(dict(order, status=status))
    return kept


def find_customer(customers, customer_id):
    """The customer with the given id, or None."""
    for customer in customers:
        if customer.customer_id == customer_id:
            return customer
    return None


def attach_customers(orders, customers):
    """Pair each order with its customer: a list of (order, Customer or None)."""
    pairs = []
    for order in orders:
        pairs.append((order, find_customer(customers, order["customer_id"])))
    return pairs


def all_order_lines(orders):
    """Every line of the given orders, order by order."""
    return sum([order["lines"] for order in orders], [])


def discontinued_units(lines, discontinued_skus):
    """How many units of discontinued products the given order lines ask for."""
    units = 0
    for line in lines:
        if line["sku"] in discontinued_skus:
            units += line["qty"]
    return units
