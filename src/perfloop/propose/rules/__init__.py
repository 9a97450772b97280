"""The registry of rewrite rules, in the order they are tried.

Each rule lives in its own module (`<id with underscores>.py`) next to this one,
with `EXAMPLE_FIRES` and `EXAMPLE_SILENT` sources that the registry meta-test runs.
"""

from __future__ import annotations

from perfloop.propose.rules.any_all_loop import AnyAllLoop
from perfloop.propose.rules.any_generator_to_loop import AnyGeneratorToLoop
from perfloop.propose.rules.base import Rule, RuleContext, Safety
from perfloop.propose.rules.bisect_sorted_search import BisectSortedSearch
from perfloop.propose.rules.cache_pure_function import CachePureFunction
from perfloop.propose.rules.char_scan_regex import CharScanRegex
from perfloop.propose.rules.count_loop import CountLoop
from perfloop.propose.rules.counter_loop import CounterLoop
from perfloop.propose.rules.counting_dict_get import CountingDictGet
from perfloop.propose.rules.deque_queue import DequeQueue
from perfloop.propose.rules.dispatch_dict import DispatchDict
from perfloop.propose.rules.drop_typing_cast import DropTypingCast
from perfloop.propose.rules.enumerate_index import EnumerateIndex
from perfloop.propose.rules.generator_to_comprehension import GeneratorToComprehension
from perfloop.propose.rules.hoist_attribute_lookup import HoistAttributeLookup
from perfloop.propose.rules.hoist_constant_attribute import HoistConstantAttribute
from perfloop.propose.rules.hoist_constant_container import HoistConstantContainer
from perfloop.propose.rules.hoist_global_lookup import HoistGlobalLookup
from perfloop.propose.rules.hoist_invariant import HoistInvariant
from perfloop.propose.rules.inline_pure_function import InlinePureFunction
from perfloop.propose.rules.int_from_bytes import IntFromBytes
from perfloop.propose.rules.isinstance_abc_fast_path import IsinstanceAbcFastPath
from perfloop.propose.rules.lambda_to_operator import LambdaToOperator
from perfloop.propose.rules.len_hoist import LenHoist
from perfloop.propose.rules.linear_search_index import LinearSearchIndex
from perfloop.propose.rules.list_comprehension import ListComprehension
from perfloop.propose.rules.match_group_subscript import MatchGroupSubscript
from perfloop.propose.rules.math_sqrt import MathSqrt
from perfloop.propose.rules.membership_list_to_set import MembershipListToSet
from perfloop.propose.rules.memoize_recursive import MemoizeRecursive
from perfloop.propose.rules.memoize_repeated_calls import MemoizeRepeatedCalls
from perfloop.propose.rules.numpy_convolve import NumpyConvolve
from perfloop.propose.rules.or_chain_membership import OrChainMembership
from perfloop.propose.rules.preallocated_fill import PreallocatedFill
from perfloop.propose.rules.precomputed_table import PrecomputedTable
from perfloop.propose.rules.range_len_iteration import RangeLenIteration
from perfloop.propose.rules.re_compile_hoist import ReCompileHoist
from perfloop.propose.rules.regex_literal_str import RegexLiteralStr
from perfloop.propose.rules.scalar_replace_attributes import ScalarReplaceAttributes
from perfloop.propose.rules.set_display_to_tuple import SetDisplayToTuple
from perfloop.propose.rules.set_membership import SetMembership
from perfloop.propose.rules.sorted_min_max import SortedMinMax
from perfloop.propose.rules.sorted_slice_heapq import SortedSliceHeapq
from perfloop.propose.rules.square_multiply import SquareMultiply
from perfloop.propose.rules.str_join import StrJoin
from perfloop.propose.rules.sum_lists_flatten import SumListsFlatten
from perfloop.propose.rules.sum_loop import SumLoop
from perfloop.propose.rules.translate_table import TranslateTable
from perfloop.propose.rules.zip_parallel_index import ZipParallelIndex

# The order is the order of application in combinations (`combine_rules` applies the
# rules it is given in this order):
# 1. rules that replace a loop by a library call and must see it as written (a
#    per-character join by str.translate, byte assembly by int.from_bytes);
# 2. rules that keep every loop a loop: they build something before it (a set, an
#    index, a deque, a hoisted value, placed above `out = []`-style lines so the pair
#    stays together) or rewrite an expression or a loop header in place;
# 3. rules that turn an accumulator loop into one expression (comprehension, join,
#    Counter, sum, len, any);
# 4. lookups hoisted into locals, last among the loop rules, so that the loops the
#    earlier rules keep or create are the ones that get them (instance attributes
#    first: `self.a.m()` becomes `a.m()`, whose method the next rule can bind);
# 5. memoize-recursive, which moves the whole body into an inner function, and
#    cache-pure-function, which moves it into a module-level one.
RULES: tuple[Rule, ...] = (
    NumpyConvolve(),
    TranslateTable(),
    IntFromBytes(),
    CharScanRegex(),  # 1: a character scan by a compiled class; the loop stays as the fallback
    LinearSearchIndex(),
    SetMembership(),
    MembershipListToSet(),
    DequeQueue(),
    BisectSortedSearch(),
    LenHoist(),
    HoistInvariant(),
    RegexLiteralStr(),
    ReCompileHoist(),
    HoistConstantContainer(),
    MathSqrt(),
    LambdaToOperator(),
    MatchGroupSubscript(),
    DropTypingCast(),
    IsinstanceAbcFastPath(),
    SquareMultiply(),
    OrChainMembership(),
    SetDisplayToTuple(),  # 2: leaves the literal sets or-chain-membership makes
    DispatchDict(),  # 2: an if/elif chain in place; after or-chain-membership, whose
    # `x in {"a", "b"}` tests it reads as keys of the table
    PrecomputedTable(),  # 2: a guard before the return of a one-line pure function
    CountingDictGet(),
    SortedMinMax(),
    SortedSliceHeapq(),
    SumListsFlatten(),
    GeneratorToComprehension(),
    InlinePureFunction(),
    MemoizeRepeatedCalls(),
    RangeLenIteration(),
    EnumerateIndex(),
    ZipParallelIndex(),
    CounterLoop(),
    ListComprehension(),
    PreallocatedFill(),
    StrJoin(),
    CountLoop(),
    SumLoop(),
    AnyAllLoop(),
    AnyGeneratorToLoop(),  # 3/4: makes loops of any()/all(), before the lookups are hoisted
    # out of loops; after any-all-loop, so a combination of the two keeps this one's loops
    ScalarReplaceAttributes(),
    HoistAttributeLookup(),
    HoistConstantAttribute(),
    HoistGlobalLookup(),
    MemoizeRecursive(),
    CachePureFunction(),
)

FIRST_SET = (
    "set-membership",
    "range-len-iteration",
    "list-comprehension",
    "str-join",
    "sorted-min-max",
    "memoize-recursive",
)
"""The six rules perfloop started with (for comparisons: `--rules` with these ids)."""

# families, for the documentation and the report: which kind of rewrite a rule is
FAMILIES: dict[str, tuple[str, ...]] = {
    "loops": (
        "list-comprehension", "preallocated-fill", "generator-to-comprehension", "str-join",
        "count-loop", "sum-loop", "any-all-loop", "any-generator-to-loop",
        "hoist-invariant", "hoist-attribute-lookup", "hoist-global-lookup",
        "scalar-replace-attributes", "hoist-constant-attribute",
        "range-len-iteration", "enumerate-index", "zip-parallel-index", "len-hoist",
        "char-scan-regex",
    ),
    "data structures": (
        "set-membership", "membership-list-to-set", "deque-queue", "counting-dict-get",
        "counter-loop", "linear-search-index", "sorted-min-max", "sorted-slice-heapq",
        "or-chain-membership", "translate-table", "dispatch-dict", "hoist-constant-container",
        "set-display-to-tuple",
    ),
    "calls": (
        "memoize-recursive", "memoize-repeated-calls", "cache-pure-function",
        "inline-pure-function",
        "re-compile-hoist", "math-sqrt", "lambda-to-operator",
        "match-group-subscript", "precomputed-table", "drop-typing-cast",
        "isinstance-abc-fast-path",
        "square-multiply", "regex-literal-str", "bisect-sorted-search", "int-from-bytes",
    ),
    "algorithmic": ("numpy-convolve", "sum-lists-flatten"),
}  # fmt: skip


def rule_by_id(rule_id: str) -> Rule:
    """The registered rule with this id; ValueError naming the known ids otherwise."""
    for rule in RULES:
        if rule.id == rule_id:
            return rule
    known = ", ".join(rule.id for rule in RULES)
    raise ValueError(f"there is no rule {rule_id!r}; the known rules are: {known}")


__all__ = ["FAMILIES", "FIRST_SET", "RULES", "Rule", "RuleContext", "Safety", "rule_by_id"]
