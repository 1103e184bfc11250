"""The paper's figures and tables, one module each; ``repro`` finds them through the ``repro.figures`` entry point."""

FIGURES = [
    "geneft.figures.fig2",
    "geneft.figures.fig3",
    "geneft.figures.fig4",
    "geneft.figures.fig5",
    "geneft.figures.fig6",
    "geneft.figures.fig7",
    "geneft.figures.fig8",
    "geneft.figures.tables",
]
