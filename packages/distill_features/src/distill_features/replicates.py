"""Analyses over the replicates of the zoo and its crosscoders (``zoo.ZooConfig.n_seeds``): each replicate is a whole
independent pipeline (models, crosscoders, selection), so a claim takes one value per replicate and a t interval over
them; the panels draw replicate 0.

Light at import (figure modules import it; ``zoo`` imports no torch at the top): ``latents_setup`` (torch) and
``repro.claims`` load inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distill_features.zoo import replicate_sizes


def n_replicates(stage_result: dict[str, Any]) -> int:
    """Replicates in a zoo or crosscoders stage result (``zoo.replicate_sizes``: replicate 0 in ``sizes``, the
    others in ``replicates``)."""
    return len(replicate_sizes(stage_result))


def stage_replicate(stage_result: dict[str, Any], j: int) -> dict[str, Any]:
    """Replicate ``j`` of a result laid out as a stage's (``sizes`` + ``replicates``), as a one-replicate result."""
    rest = {k: v for k, v in stage_result.items() if k != "replicates"}
    return {**rest, "sizes": replicate_sizes(stage_result)[j]}


def stage_replicates(stage_result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every replicate of such a result (:func:`stage_replicate`), replicate 0 first."""
    return [stage_replicate(stage_result, j) for j in range(n_replicates(stage_result))]


def per_replicate(
    zoo: dict[str, Any], crosscoders: dict[str, Any], analysis: Callable[[Any, Any], dict], cfg: Any
) -> dict[str, Any]:
    """``analysis(setup, cfg)`` on every replicate's ``latents_setup``: replicate 0's result (what the panels draw),
    the others under ``replicates``."""
    from distill_features.latents_setup import from_results

    results = [analysis(from_results(zoo, crosscoders, j), cfg) for j in range(n_replicates(crosscoders))]
    return {**results[0], "replicates": results[1:]}


def replicate_results(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-replicate results of :func:`per_replicate`, replicate 0 first."""
    return [{k: v for k, v in result.items() if k != "replicates"}, *result.get("replicates", [])]


def claims_over_replicates(
    result: dict[str, Any], cfg: Any, one_replicate: Callable[[Any, Any], list]
) -> list:
    """``one_replicate(result, cfg)`` (a figure's claims on one zoo + crosscoders) on each replicate, merged into one
    claim per statement with a t interval over the replicates (``repro.claims.merge_seeds``); with a single
    replicate, its own claims (bootstraps over items) unchanged."""
    from repro.claims import merge_seeds

    results = replicate_results(result)
    if len(results) == 1:
        return one_replicate(results[0], cfg)
    return merge_seeds([one_replicate(r, cfg) for r in results], what="seeds (zoo + crosscoders)")
