"""Root pytest configuration: no test may reach the Hugging Face hub.

The flags must be set before transformers/datasets/huggingface_hub are imported (they read them at import time);
without them every hub call retries DNS for ~23 s before failing.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
