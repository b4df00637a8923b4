from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from codelewm_eval.execution.compare import Opaque, outputs_match
from codelewm_eval.execution.passk import pass_at_k, pass_at_k_table
from codelewm_eval.execution.results import buckets_of, length_bucket, magnitude_bucket
from codelewm_eval.sandbox.inside.codec import (
    DecodeError,
    decode_value,
    dumps,
    encode_value,
)


def test_pass_at_k_matches_the_closed_form():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(200, 50, 1) == pytest.approx(0.25)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 10)


def test_pass_at_k_only_where_every_task_has_k_samples():
    recs = [SimpleNamespace(task_id="a", passed=i < 3) for i in range(12)] + \
           [SimpleNamespace(task_id="b", passed=False) for _ in range(9)]
    table = pass_at_k_table(recs)
    assert set(table) == {"pass@1"}
    assert table["pass@1"] == pytest.approx((3 / 12 + 0) / 2)


def test_buckets():
    assert [magnitude_bucket(v) for v in (-1, 0, 10, 10.5, 1000, 1001)] == ["negative", "zero", "small", "medium", "medium", "large"]
    assert [length_bucket(n) for n in (0, 5, 6, 50, 1000, 1001)] == ["empty", "short", "medium", "medium", "long", "huge"]
    assert buckets_of({"kind": "number", "value": 3.0}) == ("small", None)
    assert buckets_of({"kind": "sequence", "len": 7}) == (None, "medium")
    assert buckets_of({"kind": "bool"}) == (None, None)


def test_float_tolerance_and_types():
    assert outputs_match("humaneval-plus", "f", [], 0.1 + 0.2, 0.3, 0.0)
    assert not outputs_match("humaneval-plus", "f", [], 0.31, 0.3, 0.0)
    assert outputs_match("mbpp-plus", "f", [], [1.0, 2.0000001], [1.0, 2.0], 1e-6)
    assert not outputs_match("mbpp-plus", "f", [], (1.0, 2.0), [1.0, 2.0], 1e-6)
    assert outputs_match("mbpp-plus", "f", [], [1, 2], [1, 2], 0)
    assert not outputs_match("mbpp-plus", "f", [], Opaque("X"), 5, 0)


def test_special_oracles():
    assert outputs_match("humaneval-plus", "find_zero", [[-6, 11, -6, 1]], 1.0, 2.0, 1e-4)
    assert not outputs_match("humaneval-plus", "find_zero", [[-6, 11, -6, 1]], 1.5, 1.0, 1e-4)
    assert outputs_match("mbpp-plus", "check_str", [], Opaque("re.Match"), True, 0)
    assert not outputs_match("mbpp-plus", "check_str", [], Opaque("re.Match"), False, 0)
    assert outputs_match("mbpp-plus", "similar_elements", [], (5, 4), (4, 5), 0)
    assert outputs_match("mbpp-plus", "check_str", [], "match", True, 0)
    assert not outputs_match("mbpp-plus", "check_str", [], None, True, 0)


def test_codec_only_yields_genuine_builtins():
    value = [1, (2.5, "x"), {3: {4, 5}}, frozenset([1]), complex(1, -2), b"\x00", None, True, float("inf"), 7 ** 20000]
    tree = __import__("json").loads(dumps(encode_value(value, {})))
    assert decode_value(tree, None) == value
    for bad in ({"$": "eval", "v": "1"}, {"x": 1}, {"$": "float", "v": "1e5"}, {"$": "complex", "v": [1, 2]}):
        with pytest.raises(DecodeError):
            decode_value(bad, None)


def test_subclasses_are_copied_as_exact_builtins():
    class Liar(int):
        def __eq__(self, other):
            return True
        __hash__ = int.__hash__

    refs = {}
    tree = encode_value([Liar(3)], refs)
    assert tree == [3] and type(tree[0]) is int and not refs
    obj = object()
    tree = encode_value(obj, refs)
    assert tree["$"] == "ref" and refs[tree["id"]] is obj


def test_huge_outputs_cross_as_exact_digests(monkeypatch):
    from codelewm_eval.sandbox.inside import codec
    from codelewm_eval.sandbox.inside.codec import Digest, digest_of

    monkeypatch.setattr(codec, "DIGEST_OVER_BYTES", 20_000)
    n = 5000
    big = [(i, str(i)) for i in range(n)]
    same = [(i, "%d" % i) for i in range(n)]  # equal values, different objects
    d1, d2 = digest_of(big), digest_of(same)
    assert d1 == d2 and d1["kind"] == "list" and d1["items"] == n
    assert digest_of([list(t) for t in big]) != d1          # tuples vs lists differ
    assert digest_of(big[:-1] + [(n, "x")]) != d1             # one wrong item differs
    assert digest_of(tuple(big)) != d1                        # container type differs
    assert digest_of(big[:10]) is None                        # small values are sent whole
    tree = __import__("json").loads(dumps({"ok": d1}))
    decoded = decode_value(tree["ok"], None)
    assert isinstance(decoded, Digest) and decoded == decode_value(dumps_tree(d2), None)
    assert decoded != big[:3] and encode_value(decoded, {}) == d1


def test_lists_of_one_plain_type_encode_as_their_items_and_the_rest_keep_their_tags():
    edge = 1 << 12000  # ints from here on cross as hex
    assert encode_value([edge - 1, -(edge - 1)], {}) == [edge - 1, -(edge - 1)]
    assert encode_value([1, edge], {})[1] == {"$": "int", "v": format(edge, "x")}
    assert encode_value([1, -edge], {})[1]["$"] == "int"
    assert encode_value([0.5, math.nan], {})[1] == {"$": "float", "v": "nan"}
    assert encode_value([(1, 2), [3]], {}) == [{"$": "tuple", "v": [1, 2]}, [3]]
    assert encode_value(["a", "b"], {}) == ["a", "b"] and encode_value([True, 1], {}) == [True, 1]
    sub = type("S", (str,), {"__eq__": lambda self, other: True})
    out = encode_value(["a", sub("b")], {})
    assert out == ["a", "b"] and type(out[1]) is str  # a subclass among plain items is still copied out


def test_long_strings_cross_as_exact_digests_only_when_asked():
    from codelewm_eval.sandbox.inside.codec import DIGEST_STR_OVER, digest_of

    text = "7" * (DIGEST_STR_OVER + 1)
    d = digest_of(text, strings=True)
    assert d["kind"] == "str" and d["items"] == len(text) and digest_of("".join(list(text)), strings=True) == d
    assert digest_of(text[:-1] + "8", strings=True) != d and digest_of(text + "\ud800", strings=True) != d
    assert digest_of(text) is None and digest_of(text[:DIGEST_STR_OVER], strings=True) is None
    decoded = decode_value(dumps_tree({"ok": d})["ok"], None)
    assert decoded == decode_value(dumps_tree(d), None) and decoded != text


def test_frames_are_read_in_bulk_and_a_writer_stopping_mid_frame_cannot_block_the_reader():
    import os
    import struct

    from codelewm_eval.sandbox.inside.framing import FrameReader

    r, w = os.pipe()
    try:
        reader = FrameReader(r)
        os.write(w, b"".join(struct.pack(">I", len(p)) + p for p in (b"a", b"", b"ccc")))
        assert reader.wait(1.0) and [reader.take(), reader.take(), reader.take()] == [b"a", b"", b"ccc"]
        assert not reader.has_frame() and not reader.wait(0)
        os.write(w, struct.pack(">I", 10) + b"12345")  # half a frame, then nothing
        assert reader.wait(0.05) is False  # returns at its timeout instead of blocking on the rest
        os.write(w, b"67890")
        assert reader.wait(0) and reader.take() == b"1234567890"
        os.write(w, struct.pack(">I", 5) + b"xy")
        os.close(w)
        w = None
        with pytest.raises(EOFError):  # the writer is gone mid-frame
            reader.wait(1.0)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def dumps_tree(tree):
    return __import__("json").loads(dumps(tree))


def test_mbpp_558_oracle_pads_the_shorter_number_as_evalplus_does():
    # 12345 vs 9: EvalPlus compares 12345 with 00009 (1+2+3+4+4 = 14); the canonical solution zips
    # without padding (|1-9| = 8). Both answers pass; 13 is wrong.
    assert outputs_match("mbpp-plus", "digit_distance_nums", [12345, 9], 14, 8, 0)
    assert outputs_match("mbpp-plus", "digit_distance_nums", [12345, 9], 8, 8, 0)
    assert not outputs_match("mbpp-plus", "digit_distance_nums", [12345, 9], 13, 8, 0)
