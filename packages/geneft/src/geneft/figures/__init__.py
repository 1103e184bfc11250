"""The paper's figures and tables, one module each; ``repro`` finds them through the ``repro.figures`` entry point."""

FIGURES = [
    "geneft.figures.fig2",
]
