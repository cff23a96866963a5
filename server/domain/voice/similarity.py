"""Which answered question a new one resembles: TF-IDF cosine over Chinese bigrams and English words.

No model download: text is normalised (full-width to half-width, case, a small table of shop-floor
synonyms such as 西红柿 -> 番茄 and 哪天/几号 -> 何时), then split into terms: Chinese runs give
character bigrams (a lone character gives itself), Latin runs give lightly stemmed words. Terms are
weighted by smoothed IDF over the answered questions in scope; a candidate's score is its cosine
with the new question, raised towards how much of the candidate's weight the new question covers
(their geometric mean) when that is higher, and it is suggested when the score reaches a threshold. The index is incremental, so a brand's history is
tokenised once, not on every question.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Tuned on the pairs in tests/server/domain/voice/test_similarity.py and the held-out paraphrases
# of bench/qa.py: paraphrases score 0.5-1.0, unrelated questions stay under 0.4.
DEFAULT_THRESHOLD = 0.45

# Phrase -> canonical form, longest phrases first when applied. Chosen from the questions a farm
# livestream gets: when it ships, what it costs, how long it keeps, how to store it, pesticides.
SYNONYMS: dict[str, str] = {
    # produce
    "西红柿": "番茄", "洋柿子": "番茄", "圣女果": "小番茄", "tomatoes": "番茄", "tomato": "番茄",
    "马铃薯": "土豆", "洋芋": "土豆", "potatoes": "土豆", "potato": "土豆",
    "鸡子": "鸡蛋", "土鸡蛋": "鸡蛋", "eggs": "鸡蛋", "egg": "鸡蛋",
    # when
    "什么时候": "何时", "啥时候": "何时", "啥时": "何时", "哪天": "何时", "哪一天": "何时",
    "几号": "何时", "几时": "何时", "多久能": "何时能", "when": "何时",
    # shipping
    "寄出": "发货", "发出": "发货", "出货": "发货", "发快递": "发货", "ship": "发货",
    "shipping": "发货", "shipped": "发货", "dispatch": "发货", "deliver": "发货", "delivery": "发货",
    "物流": "快递", "顺丰": "快递 顺丰", "京东": "快递 京东", "邮政": "快递 邮政", "courier": "快递",
    # weight
    "多重": "重量", "几斤": "重量", "多少斤": "重量", "多少克": "重量", "weight": "重量",
    # invoices
    "开发票": "发票", "开票": "发票", "invoice": "发票", "fapiao": "发票",
    # price
    "多少钱": "价格", "价钱": "价格", "几块钱": "价格", "什么价": "价格", "price": "价格",
    "cost": "价格",
    # shelf life and storage
    "能放多久": "保质期", "放多久": "保质期", "能放几天": "保质期", "放几天": "保质期",
    "存放多久": "保质期", "shelf life": "保质期",
    "怎么保存": "保存", "如何保存": "保存", "怎么储存": "保存", "怎么存放": "保存", "储存": "保存",
    "store": "保存", "storage": "保存",
    # farming
    "打农药": "农药", "喷农药": "农药", "打药": "农药", "喷药": "农药", "pesticides": "农药",
    "pesticide": "农药", "organic": "有机",
    # after-sales
    "烂了": "坏果", "坏了": "坏果", "破损": "坏果", "压坏": "坏果", "退款": "售后", "退货": "售后",
    "包不包邮": "包邮", "免运费": "包邮", "运费": "邮费",
}

# Politeness and question scaffolding: words every question has, removed before terms are made.
FILLERS = (
    "请问", "问一下", "想问", "你们家", "你们", "我们", "咱们", "主播", "老板", "有没有", "是不是",
    "能不能", "可不可以", "可以", "怎么办", "一下", "谢谢",
)
# Particles that carry no meaning for matching (removed before bigrams are made).
_CJK_STOP = set("的了吗呢啊吧呀哦嘛哈噢么哇诶欸呗啦喔")
_LATIN_STOP = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "will",
    "would", "can", "could", "should", "shall", "may", "might", "to", "of", "in", "on", "at",
    "for", "and", "or", "it", "its", "this", "that", "these", "those", "i", "you", "we", "they",
    "he", "she", "me", "my", "your", "our", "their", "us", "them", "please", "pls", "hi", "hello",
    "there", "any", "with", "from", "by", "as", "so", "if", "just", "get", "got", "s", "t",
}

_SYNONYM_PATTERN = re.compile(
    "|".join(
        # Latin keys match whole words only ("ship" must not rewrite "friendship").
        rf"\b{re.escape(k)}\b" if k.isascii() else re.escape(k)
        for k in sorted(SYNONYMS, key=len, reverse=True)
    )
)
_FILLER_PATTERN = re.compile("|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True)))
_RUNS = re.compile(r"(?P<cjk>[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+)|(?P<word>[^\W_]+)")


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), case-folded, synonyms mapped to their canonical form."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    mapped = _SYNONYM_PATTERN.sub(lambda m: f" {SYNONYMS[m.group(0)]} ", folded)
    return _FILLER_PATTERN.sub(" ", mapped)


def _stem(word: str) -> str:
    """A light English stemmer: plurals and -ing/-ed, enough for 'ships'/'shipping'/'shipped'."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", "oes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiousl":
                word = word[:-1]  # shipp -> ship, but keep "sell", "pass"
            break
    return word


def terms(text: str) -> Counter[str]:
    """The bag of terms of one text: Chinese bigrams (or a lone character) and stemmed words."""
    bag: Counter[str] = Counter()
    for match in _RUNS.finditer(normalise(text)):
        run = match.group("cjk")
        if run is not None:
            chars = [ch for ch in run if ch not in _CJK_STOP]
            if len(chars) == 1:
                bag[chars[0]] += 1
            bag.update(a + b for a, b in itertools.pairwise(chars))
            continue
        word = match.group("word")
        if word in _LATIN_STOP:
            continue
        if word.isdigit() or word.isascii():
            bag["w:" + _stem(word)] += 1
        else:
            bag["w:" + word] += 1  # other scripts (Arabic, Hebrew, ...) as whole words
    return bag


@dataclass(frozen=True)
class Match:
    doc_id: int
    score: float


class SimilarityIndex:
    """An inverted index of term bags with smoothed IDF, scored by cosine and coverage.

    Weights depend on the whole collection (IDF), so document norms are computed at query time for
    the candidates that share a term with the query: cheap, because questions are short.
    Not thread-safe: its owner serialises access.
    """

    def __init__(self) -> None:
        self._docs: dict[int, Counter[str]] = {}
        self._postings: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self._docs

    def add(self, doc_id: int, text: str) -> None:
        self.remove(doc_id)
        bag = terms(text)
        if not bag:
            return
        self._docs[doc_id] = bag
        for term in bag:
            self._postings.setdefault(term, set()).add(doc_id)

    def remove(self, doc_id: int) -> None:
        bag = self._docs.pop(doc_id, None)
        if bag is None:
            return
        for term in bag:
            posting = self._postings.get(term)
            if posting is not None:
                posting.discard(doc_id)
                if not posting:
                    del self._postings[term]

    def _idf(self, term: str) -> float:
        n = len(self._docs)
        df = len(self._postings.get(term, ()))
        return math.log((1 + n) / (1 + df)) + 1.0

    def _vector(self, bag: Counter[str]) -> dict[str, float]:
        return {t: (1.0 + math.log(c)) * self._idf(t) for t, c in bag.items()}

    def query(
        self, text: str, *, limit: int = 3, threshold: float = DEFAULT_THRESHOLD,
        exclude: Iterable[int] = (),
    ) -> list[Match]:
        """The best `limit` documents scoring at least `threshold` against `text`."""
        query = self._vector(terms(text))
        q_norm = math.sqrt(sum(w * w for w in query.values()))
        if not q_norm:
            return []
        skip = set(exclude)
        candidates: set[int] = set()
        for term in query:
            candidates.update(self._postings.get(term, ()))
        candidates -= skip
        matches = []
        for doc_id in candidates:
            doc = self._vector(self._docs[doc_id])
            d_norm_sq = sum(w * w for w in doc.values())
            shared = [t for t in query if t in doc]
            cosine = sum(query[t] * doc[t] for t in shared) / (q_norm * math.sqrt(d_norm_sq))
            # How much of the earlier question the new one asks: viewers wrap the same question
            # in context ("我在广州，第一次买，…"), which dilutes the cosine but not the coverage.
            # Coverage only ever helps: an earlier question that asked more still scores its cosine.
            coverage = sum(doc[t] * doc[t] for t in shared) / d_norm_sq
            score = max(cosine, math.sqrt(cosine * coverage))
            if score >= threshold:
                matches.append(Match(doc_id, round(score, 4)))
        matches.sort(key=lambda m: (-m.score, -m.doc_id))  # ties: the most recent answer first
        return matches[:limit]


def similarity(a: str, b: str) -> float:
    """The score of `a` against `b` in a collection of just `b` (for tests and one-off checks)."""
    index = SimilarityIndex()
    index.add(1, b)
    found = index.query(a, limit=1, threshold=0.0)
    return found[0].score if found else 0.0
