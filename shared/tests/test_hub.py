"""repro.hub.token_documents: local files and the one-line offline error."""

import json

import pytest

from repro.figure import ReproError
from repro.hub import token_documents
from repro.lm_train import build_word_tokenizer


@pytest.fixture
def tok():
    return build_word_tokenizer(["a", "b", "c", "d"])


def test_local_jsonl_filters_and_cuts(tmp_path, tok):
    rows = [{"q": "a b", "t": "c"}, {"q": "a b c d a", "t": "b c"}, {"q": "d d d", "t": "a"}]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    docs = token_documents(str(path), tok, 2, 4, text_of=lambda r: f"{r['q']} {r['t']}")
    assert docs == [tok.encode("a b c d"), tok.encode("d d d a")]
    with pytest.raises(ReproError, match="only 2 documents"):
        token_documents(str(path), tok, 3, 4, text_of=lambda r: f"{r['q']} {r['t']}")


def test_missing_hub_data_set_is_one_line(tok):
    with pytest.raises(ReproError) as e:
        token_documents("no-such-org/no-such-data-set-xyz", tok, 1, 4)
    msg = str(e.value)
    assert "\n" not in msg and "hf download --repo-type dataset no-such-org/no-such-data-set-xyz" in msg
