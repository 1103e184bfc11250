"""Graph universality (Baek, Li, Tegmark 2024): knowledge-graph representations, probes and model stitching."""
