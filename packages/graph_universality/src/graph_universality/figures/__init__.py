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
