"""Text processing for product reviews."""

import re

# Characters dropped before a review is split into words. Hyphens and
# apostrophes stay, so "long-lasting" and "don't" remain one token.
PUNCTUATION = '.,;:!?"()[]{}*/'

# Common English words that say nothing about a product.
STOPWORDS = [
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an",
    "and", "any", "are", "as", "at", "be", "because", "been", "before", "being",
    "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "don't", "down", "during", "each", "even", "ever", "every", "few", "for",
    "from", "further", "get", "got", "had", "has", "have", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "i", "i'm", "i've",
    "if", "in", "into", "is", "it", "it's", "its", "itself", "just", "me",
    "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off",
    "on", "once", "one", "only", "or", "other", "our", "ours", "ourselves", "out",
    "over", "own", "really", "same", "she", "should", "so", "some", "still", "such",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "us",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves",
]  # fmt: skip


def strip_punctuation(review):
    """Return the review text without punctuation; letters, digits and spaces are kept."""
    cleaned = ""
    for ch in review:
        if ch not in PUNCTUATION:
            cleaned += ch
    return cleaned


def tokenize(review):
    """Split a review into lower-case word tokens."""
    return strip_punctuation(review).lower().split()


def content_words(tokens):
    """The tokens that carry meaning, i.e. everything except stopwords, in order."""
    words = []
    for token in tokens:
        if token not in STOPWORDS:
            words.append(token)
    return words


def word_frequencies(words):
    """Map each word to the number of times it occurs, in order of first occurrence."""
    counts = {}
    for word in words:
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    return counts


def sentence_count(review):
    """Number of sentences in a review, counted by their closing punctuation."""
    count = 0
    for ch in review:
        if ch == "." or ch == "!" or ch == "?":
            count += 1
    return count


def mentioned_skus(review):
    """Product codes such as ``KIT-0042`` that a reviewer mentions, in order."""
    return re.findall(r"\b[A-Z]{3}-\d{4}\b", review)


def top_terms(counts, n):
    """The ``n`` most frequent words as (word, count) pairs; ties are broken alphabetically."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]
