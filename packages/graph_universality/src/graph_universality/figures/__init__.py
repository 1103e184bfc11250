"""The paper's figures (v1 numbering unknown: best guess), one module each."""

FIGURES = [
    "graph_universality.figures.fig1",
    "graph_universality.figures.fig2",
    "graph_universality.figures.fig3",
    "graph_universality.figures.fig4",
    "graph_universality.figures.fig5",
    "graph_universality.figures.fig6",
    "graph_universality.figures.fig7",
    "graph_universality.figures.fig8",
]

# Official vs ours, as the results page pairs them (``repro.gallery.fix_axes``): the official recipe against our
# fixes (fig1: the N(0, 1) init; fig8: the stitch started from least squares) and against our full-batch ``fast``
# training recipe (issue 16: a result called official must come from the official recipe; where ``fast`` agrees, it
# is the cheaper route).
FIX_AXES = (
    ("official vs fixed", "official", "fixed"),
    ("training recipe: official vs ours (fast)", "official", "fast"),
)
