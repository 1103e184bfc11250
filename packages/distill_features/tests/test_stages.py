"""The package's stages: the figures' stage graph, and the artifacts (the zoo's ``save_pretrained`` folders, the
crosscoders' SAELens folders) opened by name with ``repro.load_artifact``, equal to the cached results."""

from __future__ import annotations

import itertools

import pytest
import torch


def test_figures_read_the_stages_through_nested_configs():
    from distill_features.figures import fig2, fig3, fig8
    from distill_features.stages import CROSSCODERS, ZOO

    for scale in ("smoke", "quick", "paper"):
        cfg = fig3.FIGURE.config(scale)
        assert cfg.crosscoders == CROSSCODERS.configs[scale] and cfg.zoo == ZOO.configs[scale]
        assert fig3.FIGURE.needs["zoo"].config(cfg, scale) is cfg.crosscoders.zoo
        assert fig8.FIGURE.config(scale).zoo == ZOO.configs[scale]
    # an override of the nested zoo reaches both stages a figure reads
    cfg = fig3.FIGURE.config("smoke", overrides={"crosscoders.zoo.base_steps": "3"})
    assert cfg.zoo.base_steps == 3 and cfg.crosscoders.zoo.base_steps == 3
    control = fig2.FIGURE.control(fig2.FIGURE.config("smoke"))
    assert control.crosscoders.steps == 1 and control.crosscoders.zoo == ZOO.configs["smoke"]


def test_artifacts_load_with_transformers_and_safetensors(tmp_path, monkeypatch):
    import repro
    from distill_features import pairs
    from distill_features.crosscoder import ARCHITECTURE, load_crosscoder
    from distill_features.zoo_crosscoders import crosscoder_from_arrays

    torch.set_num_threads(1)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    saved = repro.load_artifact("distill_features.crosscoders", scale="smoke")  # computes the zoo, then these
    models = repro.load_artifact("distill_features.zoo", scale="smoke")  # restored, not retrained
    zoo = repro.load_result("distill_features.zoo", scale="smoke")
    result = repro.load_result("distill_features.crosscoders", scale="smoke")

    prefixes = ["", *(f"seed{j}/" for j in range(1, zoo["n_seeds"]))]  # replicate 0, then the other seeds
    assert zoo["n_seeds"] >= 2 and sorted(models) == sorted(
        f"{p}{n}/{role}" for p in prefixes for n in zoo["size_order"] for role in ("base", "distilled")
    )
    for j, prefix in enumerate(prefixes):
        tok, zoo_pairs = pairs.zoo_from_result(zoo, replicate=j)
        ids = torch.tensor([tok.encode("Problem : 3 + 4 * 2 <think>")])
        for name, pair in zoo_pairs.items():
            for role in ("base", "distilled"):
                loaded = models[f"{prefix}{name}/{role}"]
                assert type(loaded).__name__ == "Qwen2ForCausalLM"
                with torch.no_grad():
                    assert torch.equal(loaded(ids).logits, getattr(pair, role)(ids).logits)
    seed0, seed1 = (pairs.zoo_from_result(zoo, replicate=j)[1] for j in (0, 1))  # independent replicates
    name = zoo["size_order"][0]
    assert not torch.equal(seed0[name].base.lm_head.weight, seed1[name].base.lm_head.weight)

    assert sorted(saved) == sorted(
        f"{p}{n}/{v}" for p in prefixes for n in result["size_order"] for v in ("official", "fixed")
    )
    for (j, prefix), name in itertools.product(enumerate(prefixes), result["size_order"]):
        r = [result["sizes"], *result["replicates"]][j][name]
        official, fixed = (r["variants"][v]["buffer"] for v in ("official", "fixed"))
        assert official["zero_fraction"] > 0.3 and official["unique_rows"] < r["train_rows"]  # defects 1-2
        assert fixed["zero_fraction"] == 0.0 and fixed["unique_rows"] == r["train_rows"]
        for v, rv in r["variants"].items():
            cfg, tensors = saved[f"{prefix}{name}/{v}"]
            model = crosscoder_from_arrays(rv["crosscoder"])
            assert cfg["architecture"] == ARCHITECTURE
            assert cfg["hook_point"] == f"blocks.{int(r['layer'])}.hook_resid_pre"
            assert cfg["normalisation_scales"] == model.scale.tolist()
            assert cfg["variant"] == {"official": "l1", "fixed": "batchtopk"}[v]
            state = model.state_dict()
            assert sorted(tensors) == sorted(state)
            for k, t in state.items():
                assert torch.equal(tensors[k], t), k
    # the same folders open as crosscoders (the package's loader)
    from repro import paths
    from repro.cache import Cache, cache_key
    from repro.stage import artifact_dir, find_stage

    st = find_stage("distill_features.crosscoders")
    folder = artifact_dir(Cache(paths.cache_dir()), st, cache_key(st, st.config("smoke")))
    name = result["size_order"][0]
    again = load_crosscoder(folder / name / "fixed")
    x = torch.as_tensor(result["sizes"][name]["eval_acts"][:16])
    expect = crosscoder_from_arrays(result["sizes"][name]["variants"]["fixed"]["crosscoder"])
    with torch.no_grad():
        assert torch.equal(again.encode(x), expect.encode(x))


def test_official_crosscoder_lr_keeps_the_papers_lr_times_steps():
    """The step-budget rule: the official L1 crosscoder's lr x steps equals the paper's 5e-5 x 390,625 at every
    scale that does not override it; the fixed crosscoder keeps its own lr."""
    from distill_features.stages import CROSSCODERS_CONFIGS
    from distill_features.zoo_crosscoders import CrosscodersConfig, official_lr

    assert official_lr(390_625) == pytest.approx(5e-5)
    for scale in ("quick", "paper"):
        cfg = CROSSCODERS_CONFIGS[scale]
        assert cfg.official_lr is None
        assert cfg.lr_of("official") * cfg.steps == pytest.approx(5e-5 * 390_625)
        assert cfg.lr_of("fixed") == cfg.lr
    assert CROSSCODERS_CONFIGS["quick"].lr_of("official") == pytest.approx(9.765625e-3)
    assert CrosscodersConfig(official_lr=2e-3).lr_of("official") == 2e-3
    with pytest.raises(ValueError, match="official_lr"):
        CrosscodersConfig(official_lr=0.0)
