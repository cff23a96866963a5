"""Suggested-answer matching: realistic Chinese and English questions from a farm's livestream."""

from __future__ import annotations

import pytest

from server.domain.voice.similarity import (
    DEFAULT_THRESHOLD,
    SimilarityIndex,
    normalise,
    similarity,
    terms,
)

# What a tomato farm's broadcasts have been asked and answered before.
ANSWERED = {
    1: "番茄什么时候发货？",
    2: "番茄多少钱一斤",
    3: "番茄甜不甜，酸吗",
    4: "有没有打农药",
    5: "包邮吗？偏远地区呢",
    6: "用什么快递，顺丰吗",
    7: "收到坏果怎么办",
    8: "番茄能放多久",
    9: "怎么保存比较好，要放冰箱吗",
    10: "鸡蛋什么时候发货",
    11: "可以开发票吗",
    12: "一箱有几斤",
    13: "Do you ship to Hong Kong?",
    14: "是有机认证的吗",
    15: "番茄是大棚的还是露天的",
}


@pytest.fixture(scope="module")
def index() -> SimilarityIndex:
    idx = SimilarityIndex()
    for doc_id, text in ANSWERED.items():
        idx.add(doc_id, text)
    return idx


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("番茄哪天发货", 1),
        ("西红柿几号能发货", 1),  # synonym table: 西红柿 = 番茄, 几号 = 哪天 = 什么时候
        ("When will the tomatoes ship?", 1),  # English words map onto the same terms
        ("你们的番茄打药吗", 4),
        ("包不包邮", 5),
        ("收到烂了可以赔吗", 7),
        ("番茄放冰箱能放几天", 8),
        ("西红柿什么价", 2),
        ("能开票吗", 11),
        ("一箱多重", 12),
        ("番茄是露天种的吗", 15),
        ("顺丰还是京东", 6),
        ("鸡蛋哪天发", 10),
        ("can you ship to hong kong", 13),
        ("ＷＨＥＮ will TOMATOES ship", 1),  # full-width letters and case fold
        # The same question wrapped in the asker's own context.
        ("我在广州，上次买的很好，这次番茄哪天能发货呀", 1),
        ("给家里老人买的，想问下有没有打药", 4),
    ],
)
def test_a_paraphrase_finds_the_question_answered_before(index: SimilarityIndex, asked: str, expected: int) -> None:
    found = index.query(asked)
    assert found, f"{asked!r} matched nothing"
    assert found[0].doc_id == expected, [(m.doc_id, ANSWERED[m.doc_id], m.score) for m in found]
    assert found[0].score >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "asked",
    [
        "直播间抽奖吗", "主播今天穿得好好看", "番茄沙沙的吗", "你们农场在哪个省", "能不能便宜点",
        "什么时候开播", "有优惠券吗", "这个锅哪里买的", "可以货到付款吗", "hello everyone 👋", "？？？", "🍅🍅🍅",
    ],
)
def test_an_unrelated_question_gets_no_suggestion(index: SimilarityIndex, asked: str) -> None:
    assert index.query(asked) == [], [(m.doc_id, ANSWERED[m.doc_id], m.score) for m in index.query(asked)]


def test_the_brief_pairs() -> None:
    assert similarity("番茄什么时候发货", "番茄哪天发货") >= DEFAULT_THRESHOLD
    assert similarity("番茄什么时候发货？", "西红柿几号能发货") >= DEFAULT_THRESHOLD
    assert similarity("番茄什么时候发货", "可以开发票吗") < DEFAULT_THRESHOLD
    # Sharing the product alone is not resembling.
    assert similarity("番茄什么时候发货", "番茄甜不甜") < DEFAULT_THRESHOLD


def test_terms_are_chinese_bigrams_and_stemmed_english_words() -> None:
    assert terms("番茄什么时候发货呢？") == {"番茄": 1, "何时": 1, "发货": 1}
    assert terms("高山番茄") == {"高山": 1, "山番": 1, "番茄": 1}
    assert terms("Shipping boxes of apples") == {"发货": 1, "w:box": 1, "w:apple": 1}
    assert terms("friendship") == {"w:friendship": 1}, "synonyms match whole words only"
    assert terms("") == {} and terms("？！…") == {}
    assert normalise("ＡＢＣ１２３") == "abc123"


def test_the_index_follows_additions_removals_and_edits() -> None:
    idx = SimilarityIndex()
    idx.add(1, "番茄什么时候发货")
    idx.add(2, "可以开发票吗")
    assert [m.doc_id for m in idx.query("番茄哪天发货")] == [1]
    idx.remove(1)
    assert idx.query("番茄哪天发货") == [] and 1 not in idx and len(idx) == 1
    idx.add(2, "番茄哪天到")  # an edited question replaces its old terms
    assert idx.query("可以开发票吗") == []
    assert [m.doc_id for m in idx.query("番茄哪天发货", threshold=0.3)] == [2]
    assert [m.doc_id for m in idx.query("番茄哪天到", exclude=[2])] == []


def test_hostile_and_huge_text_is_just_text() -> None:
    idx = SimilarityIndex()
    idx.add(1, "<img src=x onerror=alert(1)>")
    assert idx.query("<img src=x onerror=alert(1)>")[0].doc_id == 1
    idx.add(2, "番" * 2000 + "\u202e" + "ناصر")
    assert idx.query("番番番")[0].doc_id == 2
