"""A generated corpus with built-in analogy pairs: the offline stand-in for OpenWebText at `quick` scale.

Each word is one token (or, through :func:`bpe_corpus`, BPE pieces). Four relations are planted so that they are visible only through context, the way
grammatical and lexical relations are in real text:
- ``plural``: singular -> plural nouns ("one cat sleeps" / "two cats sleep");
- ``past``: present -> past verbs ("today the cat walks" / "yesterday the cat walked");
- ``opposite``: adjective -> antonym, each pair oriented the same way ("very hot" vs "too cold", and
  "hot is the opposite of cold");
- ``successor``: number word -> the next one (counting runs "three four five").
The tasks are the word pairs of each relation (the quick scale's version of the function-vector tasks).
:func:`bpe_corpus` gives the same sentences as text through a byte-level BPE trained on them, as GPT-2 sees text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NOUNS = [
    ("cat", "cats"),
    ("dog", "dogs"),
    ("bird", "birds"),
    ("horse", "horses"),
    ("fox", "foxes"),
    ("box", "boxes"),
    ("tree", "trees"),
    ("house", "houses"),
    ("car", "cars"),
    ("boat", "boats"),
    ("child", "children"),
    ("man", "men"),
    ("woman", "women"),
    ("mouse", "mice"),
    ("apple", "apples"),
    ("cup", "cups"),
    ("book", "books"),
    ("river", "rivers"),
    ("stone", "stones"),
    ("chair", "chairs"),
    ("king", "kings"),
    ("queen", "queens"),
    ("wolf", "wolves"),
    ("leaf", "leaves"),
    ("city", "cities"),
    ("lamp", "lamps"),
    ("door", "doors"),
    ("ship", "ships"),
    ("song", "songs"),
    ("road", "roads"),
]
VERBS = [  # (third-person present, base, past)
    ("walks", "walk", "walked"),
    ("runs", "run", "ran"),
    ("sleeps", "sleep", "slept"),
    ("jumps", "jump", "jumped"),
    ("sings", "sing", "sang"),
    ("eats", "eat", "ate"),
    ("falls", "fall", "fell"),
    ("swims", "swim", "swam"),
    ("waits", "wait", "waited"),
    ("plays", "play", "played"),
    ("moves", "move", "moved"),
    ("rests", "rest", "rested"),
    ("grows", "grow", "grew"),
    ("shines", "shine", "shone"),
    ("turns", "turn", "turned"),
    ("stays", "stay", "stayed"),
    ("leaves", "leave", "left"),
    ("sits", "sit", "sat"),
    ("drinks", "drink", "drank"),
    ("speaks", "speak", "spoke"),
]
ADJECTIVES = [  # (positive pole, negative pole)
    ("hot", "cold"),
    ("big", "small"),
    ("fast", "slow"),
    ("good", "bad"),
    ("happy", "sad"),
    ("light", "dark"),
    ("loud", "quiet"),
    ("strong", "weak"),
    ("rich", "poor"),
    ("young", "old"),
    ("clean", "dirty"),
    ("soft", "hard"),
    ("wide", "narrow"),
    ("full", "empty"),
    ("high", "low"),
    ("sweet", "sour"),
]
NUMBERS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
FUNCTION_WORDS = [
    "the",
    "a",
    ".",
    ",",
    "today",
    "yesterday",
    "is",
    "are",
    "was",
    "were",
    "very",
    "too",
    "not",
    "opposite",
    "of",
    "count",
    ":",
    "and",
    "near",
    "with",
    "<eos>",
]  # "leaves" doubles as a verb


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, words: list[str]) -> list[int]:
        idx = self.index
        return [idx[w] for w in words]


def vocabulary() -> Vocabulary:
    words: list[str] = []
    for group in (
        FUNCTION_WORDS,
        NUMBERS,
        [w for p in NOUNS for w in p],
        [w for v in VERBS for w in v],
        [w for p in ADJECTIVES for w in p],
    ):
        for w in group:
            if w not in words:
                words.append(w)
    return Vocabulary(tuple(words))


def tasks() -> dict[str, list[tuple[str, str]]]:
    """The planted relations as (input, output) word pairs, like the function-vector task files."""
    return {
        "plural": list(NOUNS),
        "past": [(present, past) for present, _, past in VERBS],
        "opposite": list(ADJECTIVES),
        "successor": list(zip(NUMBERS[:-1], NUMBERS[1:], strict=True)),
    }


def _sentence(rng: np.random.Generator) -> list[str]:
    kind = rng.integers(6)
    noun_s, noun_p = NOUNS[rng.integers(len(NOUNS))]
    other_s, other_p = NOUNS[rng.integers(len(NOUNS))]
    present, base, past = VERBS[rng.integers(len(VERBS))]
    pos, neg = ADJECTIVES[rng.integers(len(ADJECTIVES))]
    many = NUMBERS[1 + rng.integers(len(NUMBERS) - 1)]
    if kind == 0:  # singular present
        return ["today", "the", noun_s, present, "near", "the", other_s, "."]
    if kind == 1:  # plural present
        return ["today", many, noun_p, base, "with", "the", other_p, "."]
    if kind == 2:  # past, either number
        subject = ["the", noun_s] if rng.random() < 0.5 else [many, noun_p]
        return ["yesterday", *subject, past, "."]
    if kind == 3:  # adjectives with their pole's intensifier
        if rng.random() < 0.5:
            return ["the", noun_s, "is", "very", pos, ",", "not", neg, "."]
        return [many, noun_p, "are", "too", neg, ",", "not", pos, "."]
    if kind == 4:
        return (
            [pos, "is", "the", "opposite", "of", neg, "."]
            if rng.random() < 0.5
            else ["one", noun_s, "and", many, noun_p, "."]
        )
    start = rng.integers(len(NUMBERS) - 4)
    return ["count", ":", *NUMBERS[start : start + 2 + rng.integers(3)], "."]


def sentences(n_sentences: int, seed: int) -> list[list[str]]:
    """``n_sentences`` generated sentences (lists of words)."""
    rng = np.random.default_rng(seed)
    return [_sentence(rng) for _ in range(n_sentences)]


def generate(n_sentences: int, seed: int) -> tuple[np.ndarray, Vocabulary]:
    """A token stream of ``n_sentences`` sentences separated by <eos>, as uint16, and its vocabulary."""
    vocab = vocabulary()
    idx = vocab.index
    stream: list[int] = []
    for words in sentences(n_sentences, seed):
        stream.extend(idx[w] for w in words)
        stream.append(idx["<eos>"])
    return np.asarray(stream, dtype=np.uint16), vocab


EOS_TEXT = "<|endoftext|>"


def bpe_corpus(n_sentences: int, seed: int, vocab_size: int) -> tuple[np.ndarray, Any]:
    """The same sentences as text, one line each ("today the cat walks near the dog ."), tokenized by a byte-level
    BPE trained on them (GPT-2's kind of tokenizer, from the ``tokenizers`` library; training is deterministic).
    As in GPT-2, a word mid-sentence is a different token from the same word without its leading space (``" cats"``
    vs ``"cats"``, which may split into pieces): the distinction behind the official F6 analysis' defect D14.
    Returns the token stream (lines separated by the end-of-text token, as uint16) and the tokenizer."""
    from tokenizers import ByteLevelBPETokenizer

    lines = [" ".join(words) for words in sentences(n_sentences, seed)]
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(
        lines, vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=[EOS_TEXT]
    )
    eos = tok.token_to_id(EOS_TEXT)
    stream = [i for enc in tok.encode_batch(lines) for i in (*enc.ids, eos)]
    return np.asarray(stream, dtype=np.uint16), tok


def last_piece(tok: Any, word: str, leading_space: bool) -> int:
    """The id of the last BPE piece of ``word``, bare (the official F6 rule) or as mid-text (``" " + word``)."""
    return tok.encode((" " if leading_space else "") + word).ids[-1]
