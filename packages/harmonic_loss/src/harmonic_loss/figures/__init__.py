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

# The defects whose official and fixed sides are both measured (spec section 3), as the results page pairs them
# (``repro.gallery.fix_axes``): a claim's variant is one setting per defect joined by ", "; "" is the official
# recipe's absence of an ablation.
FIX_AXES = (
    ("D1 leaky split", "official", "unique"),
    ("D2 exponent (fig5) / D14 word pieces (fig6)", "official", "fixed"),
    ("D6 dropout at evaluation", "dropout at eval", "eval mode"),
    ("D9 embedding group-lasso", "", "no group-lasso"),
    ("D9 weight decay", "", "no wd"),
)
