"""The package's stages: names, graph, and the trained models as transformers artifacts (`repro.load_artifact`)
whose logits equal the in-memory models'."""

import numpy as np
import torch


def test_stages_are_declared_by_the_figures_that_read_them():
    from graph_universality.figures import fig3, fig4, fig5, fig6, fig7, fig8
    from graph_universality.stages import (
        ICL_MODEL,
        LM_STITCHING,
        STITCH_ICL,
        TINY_LMS,
        TOY_SWEEP,
        TOY_SWEEP_OFFICIAL,
    )

    figs = (fig3, fig4, fig5, fig6, fig7, fig8)
    reads = {fig.FIGURE.id: {n.stage.name for n in fig.FIGURE.needs.values()} for fig in figs}
    assert reads == {
        "fig3": {TOY_SWEEP.name, TOY_SWEEP_OFFICIAL.name, TINY_LMS.name},  # + LLM -> MLP senders
        "fig6": {TOY_SWEEP.name, TOY_SWEEP_OFFICIAL.name},
        "fig4": {LM_STITCHING.name, TINY_LMS.name},
        "fig5": {ICL_MODEL.name},
        "fig7": {ICL_MODEL.name},
        "fig8": {STITCH_ICL.name},
    }
    for fig in figs:  # each scale's nested config is the stage's own at that scale
        for scale, cfg in fig.FIGURE.configs.items():
            for need in fig.FIGURE.needs.values():
                assert need.config(cfg, scale) == need.stage.configs[scale]


def test_icl_model_artifact_loads_with_transformers(tmp_path, monkeypatch):
    """The meta-learner written with save_pretrained opens with AutoModelForCausalLM (and AutoTokenizer), and its
    logits equal those of the model the figures rebuild from the stage's result."""
    import transformers

    import repro
    from graph_universality import icl, icl_arm
    from graph_universality.stages import ICL_MODEL

    torch.set_num_threads(1)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    loaded = repro.load_artifact("graph_universality.icl_model", scale="smoke")
    assert isinstance(loaded, transformers.GPTNeoXForCausalLM)
    result = repro.load_result("graph_universality.icl_model", scale="smoke")
    model, tok, names = icl_arm.tiny_model(ICL_MODEL.configs["smoke"], result)
    prompt = icl.prompt((-1, 0, 0, 1), names[:4], 3, 0)
    ids = tok(prompt, return_tensors="pt").input_ids
    folder = next(tmp_path.glob("graph_universality/stage-icl_model/*/artifact"))
    assert transformers.AutoTokenizer.from_pretrained(folder)(prompt).input_ids == ids[0].tolist()
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, model(ids).logits)


def test_tiny_lms_artifact_loads_with_transformers(tmp_path, monkeypatch):
    """One save_pretrained folder per seed; each opens with AutoModelForCausalLM, logits equal to the rebuilt model."""
    import repro
    from graph_universality import llm_arm
    from graph_universality.stages import TINY_LMS

    torch.set_num_threads(1)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    cfg = TINY_LMS.configs["smoke"]
    loaded = repro.load_artifact("graph_universality.tiny_lms", scale="smoke")
    assert sorted(loaded) == sorted(cfg.seeds)
    rebuilt = llm_arm.models_from_states(cfg, repro.load_result("graph_universality.tiny_lms", scale="smoke"))
    ids = llm_arm.tokenizer(cfg)("Is Emily a descendant of", return_tensors="pt").input_ids
    with torch.no_grad():
        for s in cfg.seeds:
            assert torch.equal(loaded[s](ids).logits, rebuilt[s](ids).logits)
        assert not torch.equal(loaded[cfg.seeds[0]](ids).logits, loaded[cfg.seeds[1]](ids).logits)


def test_toy_sweep_stage_restores_what_it_computed(tmp_path, monkeypatch):
    import repro

    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    first = repro.load_result("graph_universality.toy_sweep", scale="smoke")
    again = repro.load_result("graph_universality.toy_sweep", scale="smoke")
    assert np.array_equal(first["pairs"]["f1_affine"], again["pairs"]["f1_affine"])
    assert set(first["runs"]["emb_dim"].tolist()) == {2, 4}


def test_official_sweep_differs_from_the_fast_one_only_in_the_recipe():
    import dataclasses

    from graph_universality.stages import TOY_SWEEP, TOY_SWEEP_OFFICIAL
    from graph_universality.toy import OFFICIAL

    for scale, cfg in TOY_SWEEP_OFFICIAL.configs.items():
        fast = TOY_SWEEP.configs[scale]
        assert (cfg.recipe, fast.recipe) == ("official", "fast")
        assert cfg.lr == OFFICIAL["lr"] and cfg.emb_init_std == 0.0
        same = dataclasses.replace(cfg, recipe="fast", lr=fast.lr, emb_init_std=fast.emb_init_std)
        assert dataclasses.replace(same, max_steps=fast.max_steps) == fast
    assert TOY_SWEEP_OFFICIAL.configs["paper"].max_epochs == OFFICIAL["max_epochs"]


def _with_threads(n: int, fn, *args):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(n)
        return fn(*args)
    finally:
        torch.set_num_threads(threads)


def test_parallel_stages_give_the_numbers_of_one_process():
    """The toy sweep (one job per relation count), V2-stitch-icl (one job per LM, then per pair) and the tiny LMs (one
    per seed) run their jobs in worker processes when the stage has two threads: the numbers must be those of one
    process doing them in turn."""
    import dataclasses

    from graph_universality.stages import (
        STITCH_ICL,
        TINY_LMS,
        TOY_SWEEP,
        TOY_SWEEP_OFFICIAL,
        stitch_icl,
        tiny_lms,
        toy_sweep,
    )

    sweeps = [
        dataclasses.replace(st.configs["smoke"], n_relations=(1, 2), emb_dims=(2,), seeds=(0, 1))
        for st in (TOY_SWEEP, TOY_SWEEP_OFFICIAL)
    ]
    icl = STITCH_ICL.configs["smoke"]
    for cfg in sweeps:
        one, two = _with_threads(1, toy_sweep, cfg), _with_threads(2, toy_sweep, cfg)
        for part in ("runs", "pairs"):
            for k in one[part]:
                np.testing.assert_array_equal(one[part][k], two[part][k], err_msg=f"{cfg.recipe} {part} {k}")
    one, two = _with_threads(1, stitch_icl, icl), _with_threads(2, stitch_icl, icl)
    assert list(one) == list(two)
    for k in one:
        np.testing.assert_array_equal(one[k], two[k], err_msg=f"stitch_icl {k}")
    one, two = (_leaves(_with_threads(n, tiny_lms, TINY_LMS.configs["smoke"])) for n in (1, 2))
    assert one.keys() == two.keys() and len(one) > 2
    for k in one:
        np.testing.assert_array_equal(one[k], two[k], err_msg=f"tiny_lms {k}")


def test_parallel_figures_give_the_numbers_of_one_process():
    """Fig. 1 (one stack per recipe) and Fig. 2 (one per variant and relation count), as the stages above."""
    from graph_universality.figures import fig1, fig2
    from graph_universality.generalisation import train_generalisation
    from graph_universality.toy_cones import train_cones

    for train, cfg in (
        (train_cones, fig1.FIGURE.config("smoke")),
        (train_generalisation, fig2.FIGURE.config("smoke")),
    ):
        one, two = _with_threads(1, train, cfg), _with_threads(2, train, cfg)
        flat1, flat2 = _leaves(one), _leaves(two)
        assert flat1.keys() == flat2.keys() and flat1
        for k in flat1:
            np.testing.assert_array_equal(flat1[k], flat2[k], err_msg=f"{train.__name__} {k}")


def _leaves(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _leaves(sub, f"{prefix}/{key}").items()}
    return {prefix: np.asarray(tree)}
