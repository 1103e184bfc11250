"""GenEFT (Baek, Liu & Tegmark 2024): statics and dynamics of generalisation, as a library and the paper figures."""
