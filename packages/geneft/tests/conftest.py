"""Tiny-op training is fastest on one thread (20x slower on two here); the figures' harness does the same."""

import torch

torch.set_num_threads(1)
torch.set_flush_denormal(True)
