"""The paper's figures, one module each; ``repro`` finds them through the ``repro.figures`` entry point."""

FIGURES = [
    "harmonic_loss.figures.fig1",
    "harmonic_loss.figures.fig2",
    "harmonic_loss.figures.fig3",
    "harmonic_loss.figures.fig4",
    "harmonic_loss.figures.fig5",
    "harmonic_loss.figures.fig6",
    "harmonic_loss.figures.fig7",
]
