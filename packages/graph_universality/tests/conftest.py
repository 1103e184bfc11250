import pytest
import torch


@pytest.fixture(scope="session")
def trained_toy():
    """A small stack trained once: 15-node balanced tree, descendant, all pairs, emb 2 and 4, three seeds."""
    from graph_universality.graphs import KnowledgeGraph, balanced_tree, split
    from graph_universality.toy import ToyRun, train_toy

    torch.set_num_threads(1)
    kg = KnowledgeGraph(balanced_tree(15))
    tr, te = split(kg, "all", 0.0, 0)
    runs = [
        ToyRun(kg.examples, tr, te, 15, 1, emb_dim=d, hidden=32, seed=s, emb_init_std=1.0)
        for d in (2, 4)
        for s in range(3)
    ]
    model, metrics = train_toy(runs, 600)
    return kg, runs, model, metrics
